/*=========================================================================
 *
 *  Copyright NumFOCUS
 *
 *  Licensed under the Apache License, Version 2.0 (the "License");
 *  you may not use this file except in compliance with the License.
 *  You may obtain a copy of the License at
 *
 *         http://www.apache.org/licenses/LICENSE-2.0.txt
 *
 *  Unless required by applicable law or agreed to in writing, software
 *  distributed under the License is distributed on an "AS IS" BASIS,
 *  WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 *  See the License for the specific language governing permissions and
 *  limitations under the License.
 *
 *=========================================================================*/
#ifndef itkMultiChannelKMeansSegmentationImageFilter_hxx
#define itkMultiChannelKMeansSegmentationImageFilter_hxx

#include "itkKMeansSegmentationMemory.h"
#include "itkMultiChannelKMeans.h"
#include "itkMultiThreaderBase.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <type_traits>

namespace itk
{
namespace MultiChannelKMeansDetail
{
template <typename T, typename... TList>
struct IsOneOf : std::false_type
{};
template <typename T, typename TFirst, typename... TList>
struct IsOneOf<T, TFirst, TList...>
  : std::integral_constant<bool, std::is_same<T, TFirst>::value || IsOneOf<T, TList...>::value>
{};

/** The component type MultiChannelKMeans reads a buffer of T as (plain char as signed or unsigned char). */
template <typename T>
using AlgorithmComponent =
  typename std::conditional<std::is_same<T, char>::value,
                            typename std::conditional<std::is_signed<char>::value, signed char, unsigned char>::type,
                            T>::type;
template <typename T>
using IsAlgorithmComponent = IsOneOf<AlgorithmComponent<T>, signed char, unsigned char, short, unsigned short, int,
                                     unsigned int, long, unsigned long, long long, unsigned long long, float, double>;

/** The label type MultiChannelKMeans writes a buffer of T as: its unsigned variant when the algorithm has it. */
template <typename T, bool = std::is_integral<T>::value && !std::is_same<T, bool>::value>
struct AlgorithmLabel
{
  using Direct = std::false_type;
  using Type = unsigned int;
};
template <typename T>
struct AlgorithmLabel<T, true>
{
  using Unsigned = typename std::make_unsigned<T>::type;
  using Direct = IsOneOf<Unsigned, unsigned char, unsigned short, unsigned int>;
  using Type = typename std::conditional<Direct::value, Unsigned, unsigned int>::type;
};

/** Runs the algorithm on the output buffer itself (signed and unsigned variants of a type may alias). */
template <typename TComponent, typename TLabel>
void
RunOnLabels(MultiChannelKMeans & algorithm, const TComponent * in, TLabel * out, std::size_t n, unsigned int C, std::true_type)
{
  algorithm.Run(in, reinterpret_cast<typename AlgorithmLabel<TLabel>::Type *>(out), n, C);
}

/** Label types the algorithm does not write (8-byte integers): through a buffer of unsigned int. */
template <typename TComponent, typename TLabel>
void
RunOnLabels(MultiChannelKMeans & algorithm, const TComponent * in, TLabel * out, std::size_t n, unsigned int C, std::false_type)
{
  std::vector<unsigned int> labels(n);
  std::transform(out, out + n, labels.begin(), [](TLabel l) { return l != TLabel{} ? 1u : 0u; });
  algorithm.Run(in, labels.data(), n, C);
  std::transform(labels.begin(), labels.end(), out, [](unsigned int l) { return static_cast<TLabel>(l); });
}

template <typename TComponent, typename TLabel>
void
RunOnComponents(MultiChannelKMeans & algorithm, const TComponent * in, TLabel * out, std::size_t n, unsigned int C, std::true_type)
{
  RunOnLabels(algorithm, reinterpret_cast<const AlgorithmComponent<TComponent> *>(in), out, n, C,
              typename AlgorithmLabel<TLabel>::Direct{});
}

/** Component types the algorithm does not read (long double...): as doubles, as the algorithm would read them. */
template <typename TComponent, typename TLabel>
void
RunOnComponents(MultiChannelKMeans & algorithm, const TComponent * in, TLabel * out, std::size_t n, unsigned int C, std::false_type)
{
  std::vector<double> values(n * C);
  std::transform(in, in + n * C, values.begin(), [](TComponent v) { return static_cast<double>(v); });
  RunOnLabels(algorithm, values.data(), out, n, C, typename AlgorithmLabel<TLabel>::Direct{});
}

} // namespace MultiChannelKMeansDetail

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::
  MultiChannelKMeansSegmentationImageFilter()
{
  this->AddOptionalInputName("MaskImage"); // the input is required (ImageToImageFilter)
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
template <typename TImage>
std::string
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::DescribeGeometry(
  const TImage * image)
{
  return KMeansSegmentationDetail::DescribeGeometry(image);
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
template <typename TChannelImage>
auto
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::ComposeChannels(
  const std::vector<const TChannelImage *> & channels,
  const std::vector<std::string> &           names) -> typename InputImageType::Pointer
{
  static_assert(TChannelImage::ImageDimension == ImageDimension, "channels must have the input's dimension");
  auto nameOf = [&names](std::size_t i) {
    std::string name = "channel " + std::to_string(i);
    if (i < names.size() && !names[i].empty())
    {
      name += " (" + names[i] + ")";
    }
    return name;
  };
  if (channels.empty())
  {
    itkGenericExceptionMacro(<< "no channel given");
  }
  for (std::size_t i = 0; i < channels.size(); ++i)
  {
    if (channels[i] == nullptr)
    {
      itkGenericExceptionMacro(<< nameOf(i) << " is null");
    }
    if (channels[i]->GetBufferedRegion() != channels[i]->GetLargestPossibleRegion())
    {
      itkGenericExceptionMacro(<< nameOf(i) << " does not hold its whole image in memory (call Update() first)");
    }
    // With ITK's global default tolerances (ImageToImageFilter's, 1e-6 unless changed).
    const std::string mismatch =
      i == 0 ? std::string{}
             : KMeansSegmentationDetail::DescribeGeometryMismatch(channels[i],
                                                                  nameOf(i),
                                                                  channels[0],
                                                                  nameOf(0),
                                                                  Superclass::GetGlobalDefaultCoordinateTolerance(),
                                                                  Superclass::GetGlobalDefaultDirectionTolerance(),
                                                                  true);
    if (!mismatch.empty())
    {
      itkGenericExceptionMacro(<< mismatch);
    }
  }
  const auto numberOfChannels = static_cast<unsigned int>(channels.size());
  auto       image = InputImageType::New();
  image->SetRegions(channels[0]->GetLargestPossibleRegion());
  image->SetOrigin(channels[0]->GetOrigin());
  image->SetSpacing(channels[0]->GetSpacing());
  image->SetDirection(channels[0]->GetDirection());
  image->SetNumberOfComponentsPerPixel(numberOfChannels);
  image->Allocate();
  KMeansSegmentationMemory::AdviseHugePages(image.GetPointer());
  ComponentType *     out = image->GetBufferPointer();
  const SizeValueType n = channels[0]->GetLargestPossibleRegion().GetNumberOfPixels();
  for (unsigned int c = 0; c < numberOfChannels; ++c)
  {
    const auto * in = channels[c]->GetBufferPointer();
    for (SizeValueType i = 0; i < n; ++i)
    {
      out[i * numberOfChannels + c] = static_cast<ComponentType>(in[i]);
    }
  }
  return image;
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
MultiChannelKMeans::Parameters
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::MakeParameters() const
{
  return { m_NumberOfClasses,           m_Seed,        m_NumberOfRestarts,   m_MaximumNumberOfIterations,
           m_Standardize, m_UseDistinctVectors, m_MaximumNumberOfDistinctVectors, m_MaximumSampleSize };
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::VerifyPreconditions() const
{
  Superclass::VerifyPreconditions();
  KMeansSegmentationDetail::ThrowIfNotEmpty(
    this, KMeansSegmentationDetail::DescribeBadNumberOfClasses<OutputPixelType>("NumberOfClasses", m_NumberOfClasses));
  try
  {
    MultiChannelKMeans::VerifyParameters(this->MakeParameters());
  }
  catch (const std::invalid_argument & error)
  {
    itkExceptionMacro(<< error.what());
  }
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::VerifyInputInformation() const
{
  const TInputImage * input = this->GetInput();
  // Checked here, not in VerifyPreconditions: an upstream filter (ComposeImageFilter) sets the number of
  // components in its GenerateOutputInformation, which runs between the two.
  if (input != nullptr && input->GetNumberOfComponentsPerPixel() < 1)
  {
    itkExceptionMacro(<< "the input has no channel (0 components per pixel)");
  }
  // The mask check of every filter of the module, naming both geometries in full.
  KMeansSegmentationDetail::VerifyMaskGeometry(this, true);
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::GenerateData()
{
  const auto images = KMeansSegmentationDetail::BeginGenerateData(this);
  this->SetResult(MultiChannelKMeans::Result{});

  m_NumberOfChannels = images.Input->GetNumberOfComponentsPerPixel();
  m_NumberOfVoxels = images.Region.GetNumberOfPixels();

  // The algorithm's input: the feature vectors (the input buffer) and the voxels that may take part (label 1).
  OutputPixelType * const     out = KMeansSegmentationDetail::AllocateWholeOutput(images.Output);
  const MaskPixelType * const maskBuffer = images.Mask ? images.Mask->GetBufferPointer() : nullptr;
  constexpr SizeValueType chunk = SizeValueType{ 1 } << 16;
  this->GetMultiThreader()->ParallelizeArray(
    0,
    (m_NumberOfVoxels + chunk - 1) / chunk,
    [&](SizeValueType c) {
      const SizeValueType end = std::min(m_NumberOfVoxels, (c + 1) * chunk);
      for (SizeValueType v = c * chunk; v < end; ++v)
      {
        out[v] = maskBuffer == nullptr || maskBuffer[v] != MaskPixelType{} ? OutputPixelType{ 1 } : OutputPixelType{};
      }
    },
    nullptr);

  MultiChannelKMeans algorithm;
  algorithm.SetParameters(this->MakeParameters());
  algorithm.SetProcessObject(this);
  try
  {
    MultiChannelKMeansDetail::RunOnComponents(algorithm, images.Input->GetBufferPointer(), out, m_NumberOfVoxels,
                                              m_NumberOfChannels,
                                              MultiChannelKMeansDetail::IsAlgorithmComponent<ComponentType>{});
  }
  catch (const MultiChannelKMeans::NoVoxelError &)
  {
    if (images.Mask != nullptr)
    {
      itkExceptionMacro(<< "no voxel to classify: the mask is empty or covers only voxels with a non-finite channel");
    }
    itkExceptionMacro(<< "the image has no voxel whose channels are all finite");
  }
  catch (const std::invalid_argument & error)
  {
    itkExceptionMacro(<< error.what());
  }
  catch (const std::runtime_error & error)
  {
    itkExceptionMacro(<< error.what());
  }

  this->SetResult(algorithm.GetResult());
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::SetResult(
  const MultiChannelKMeans::Result & result)
{
  m_ChannelWeights = result.ChannelWeights;
  m_ClassMeans = result.ClassMeans;
  m_ClassCounts.assign(result.ClassCounts.begin(), result.ClassCounts.end());
  m_ClassSumsOfSquares = result.ClassSumsOfSquares;
  m_RestartWithinClassSumsOfSquares = result.RestartWithinClassSumsOfSquares;
  m_ChannelMeans = result.ChannelMeans;
  m_ChannelStandardDeviations = result.ChannelStandardDeviations;
  m_WithinClassSumOfSquares = result.WithinClassSumOfSquares;
  m_NumberOfIterations = result.NumberOfIterations;
  m_NumberOfClassifiedPixels = static_cast<SizeValueType>(result.NumberOfClassifiedPixels);
  m_UsedDistinctVectors = result.UsedDistinctVectors;
  m_NumberOfDistinctVectors = static_cast<SizeValueType>(result.NumberOfDistinctVectors);
}

template <typename TInputImage, typename TOutputImage, typename TMaskImage>
void
MultiChannelKMeansSegmentationImageFilter<TInputImage, TOutputImage, TMaskImage>::PrintSelf(std::ostream & os,
                                                                                            Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "NumberOfClasses: " << m_NumberOfClasses << std::endl;
  os << indent << "Seed: " << m_Seed << std::endl;
  os << indent << "NumberOfRestarts: " << m_NumberOfRestarts << std::endl;
  os << indent << "MaximumNumberOfIterations: " << m_MaximumNumberOfIterations << std::endl;
  os << indent << "Standardize: " << (m_Standardize ? "On" : "Off") << std::endl;
  os << indent << "UseDistinctVectors: " << (m_UseDistinctVectors ? "On" : "Off") << std::endl;
  os << indent << "MaximumNumberOfDistinctVectors: " << m_MaximumNumberOfDistinctVectors << std::endl;
  os << indent << "MaximumSampleSize: " << m_MaximumSampleSize << std::endl;
  os << indent << "NumberOfChannels: " << m_NumberOfChannels << std::endl;
  os << indent << "NumberOfVoxels: " << m_NumberOfVoxels << std::endl;
  KMeansSegmentationDetail::PrintArray(os, indent, "ChannelWeights", m_ChannelWeights);
  os << indent << "ClassMeans: [";
  for (std::size_t k = 0; k < m_ClassMeans.size(); ++k)
  {
    os << (k ? ", " : "") << KMeansSegmentationDetail::JoinValues(m_ClassMeans[k], m_ClassMeans[k].size());
  }
  os << "]" << std::endl;
  KMeansSegmentationDetail::PrintArray(os, indent, "ClassCounts", m_ClassCounts);
  KMeansSegmentationDetail::PrintArray(os, indent, "ClassSumsOfSquares", m_ClassSumsOfSquares);
  KMeansSegmentationDetail::PrintArray(os, indent, "RestartWithinClassSumsOfSquares", m_RestartWithinClassSumsOfSquares);
  KMeansSegmentationDetail::PrintArray(os, indent, "ChannelMeans", m_ChannelMeans);
  KMeansSegmentationDetail::PrintArray(os, indent, "ChannelStandardDeviations", m_ChannelStandardDeviations);
  os << indent << "WithinClassSumOfSquares: " << m_WithinClassSumOfSquares << std::endl;
  os << indent << "NumberOfIterations: " << m_NumberOfIterations << std::endl;
  os << indent << "NumberOfClassifiedPixels: " << m_NumberOfClassifiedPixels << std::endl;
  os << indent << "UsedDistinctVectors: " << (m_UsedDistinctVectors ? "Yes" : "No") << std::endl;
  os << indent << "NumberOfDistinctVectors: " << m_NumberOfDistinctVectors << std::endl;
}
} // namespace itk

#endif

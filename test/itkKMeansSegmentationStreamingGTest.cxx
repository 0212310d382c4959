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
// The two streamed stages (KMeansSegmentationEstimator, KMeansLabelImageFilter) against the whole-image filter:
// identical models and labels for any number of pieces and threads, sub-regions, real streaming from a file,
// and merged histograms.
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkMetaImageIOFactory.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIteratorWithIndex.h"
#include "itkKMeansSegmentationEstimator.h"
#include "itkKMeansSegmentationImageFilter.h"
#include "itkGaussianMixtureSegmentationImageFilter.h"
#include "itkStreamingImageFilter.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <random>

namespace
{
/** A phantom of four tissue intensities in concentric shells with 5 % Gaussian noise and a linear bias. */
template <typename TPixel, unsigned int VDimension>
typename itk::Image<TPixel, VDimension>::Pointer
MakePhantom(unsigned int size, bool integerValued)
{
  using ImageType = itk::Image<TPixel, VDimension>;
  auto                         image = ImageType::New();
  typename ImageType::SizeType extent;
  extent.Fill(size);
  image->SetRegions(extent);
  image->Allocate();
  std::mt19937                       random(42);
  std::normal_distribution<double>   noise(0.0, 1.0);
  const double                       means[] = { 0.0, 300.0, 650.0, 1000.0 };
  itk::ImageRegionIteratorWithIndex<ImageType> it(image, image->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    double r2 = 0.0;
    for (unsigned int d = 0; d < VDimension; ++d)
    {
      const double x = (it.GetIndex()[d] - 0.5 * size) / (0.5 * size);
      r2 += x * x;
    }
    const int    tissue = r2 > 0.8 ? 0 : r2 > 0.45 ? 1 : r2 > 0.15 ? 2 : 3;
    const double bias = 1.0 + 0.1 * it.GetIndex()[0] / size;
    double       v = tissue == 0 ? 0.0 : means[tissue] * bias * (1.0 + 0.05 * noise(random));
    if (integerValued)
    {
      v = std::round(v);
    }
    it.Set(static_cast<TPixel>(v));
  }
  return image;
}

template <unsigned int VDimension>
typename itk::Image<unsigned char, VDimension>::Pointer
MakeMask(unsigned int size)
{
  using MaskType = itk::Image<unsigned char, VDimension>;
  auto                        mask = MaskType::New();
  typename MaskType::SizeType extent;
  extent.Fill(size);
  mask->SetRegions(extent);
  mask->Allocate();
  itk::ImageRegionIteratorWithIndex<MaskType> it(mask, mask->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    it.Set(it.GetIndex()[1] % 7 == 3 || it.GetIndex()[0] < 2 ? 0 : 1); // stripes and a border off
  }
  return mask;
}

template <typename TImage>
std::size_t
CountDifferences(const TImage * a, const TImage * b, const typename TImage::RegionType & region)
{
  itk::ImageRegionConstIterator<TImage> ia(a, region);
  itk::ImageRegionConstIterator<TImage> ib(b, region);
  std::size_t                           differences = 0;
  for (; !ia.IsAtEnd(); ++ia, ++ib)
  {
    differences += ia.Get() != ib.Get();
  }
  return differences;
}

void
ExpectSameModel(const itk::KMeansIntensityModel & a, const itk::KMeansIntensityModel & b)
{
  EXPECT_EQ(a.ClassMeans, b.ClassMeans);
  EXPECT_EQ(a.ClassCounts, b.ClassCounts);
  EXPECT_EQ(a.ClassSumsOfSquares, b.ClassSumsOfSquares);
  EXPECT_EQ(a.Thresholds, b.Thresholds);
  EXPECT_EQ(a.ClassFirstBins, b.ClassFirstBins);
  EXPECT_EQ(a.WithinClassSumOfSquares, b.WithinClassSumOfSquares);
  EXPECT_EQ(a.OptimalityGap, b.OptimalityGap);
  EXPECT_TRUE(a.Binning == b.Binning);
}

struct Variant
{
  bool   Mask;
  bool   Threshold;
  double ThresholdValue;
};

/** An estimator of image in `divisions` pieces on `threads` threads, with the variant's mask and threshold. */
template <typename TImage, typename TMask>
typename itk::KMeansSegmentationEstimator<TImage>::Pointer
MakeEstimator(const TImage * image, const TMask * mask, const Variant & variant, unsigned int divisions,
              unsigned int threads)
{
  auto estimator = itk::KMeansSegmentationEstimator<TImage>::New();
  estimator->SetInput(image);
  estimator->SetNumberOfClasses(3);
  estimator->SetNumberOfStreamDivisions(divisions);
  estimator->SetNumberOfWorkUnits(threads);
  if (variant.Mask)
  {
    estimator->SetMaskImage(mask);
  }
  estimator->SetUseForegroundThreshold(variant.Threshold);
  estimator->SetForegroundThreshold(variant.ThresholdValue);
  return estimator;
}

/** The labels of image by model, streamed in `divisions` pieces on `threads` threads. */
template <typename TImage, typename TLabel, typename TMask>
typename TLabel::Pointer
LabelStreamed(const TImage *                     image,
              const TMask *                      mask,
              const itk::KMeansIntensityModel & model,
              unsigned int                       divisions,
              unsigned int                       threads)
{
  auto labeler = itk::KMeansLabelImageFilter<TImage, TLabel>::New();
  labeler->SetInput(image);
  labeler->SetModel(model);
  labeler->SetNumberOfWorkUnits(threads);
  if (mask != nullptr)
  {
    labeler->SetMaskImage(mask);
  }
  auto streamer = itk::StreamingImageFilter<TLabel, TLabel>::New();
  streamer->SetInput(labeler->GetOutput());
  streamer->SetNumberOfStreamDivisions(divisions);
  streamer->Update();
  typename TLabel::Pointer labels = streamer->GetOutput();
  labels->DisconnectPipeline();
  return labels;
}

/** Whole-image filter vs estimator + label filter, both streamed in `divisions` pieces, on `threads`. */
template <typename TPixel, unsigned int VDimension>
void
CheckStreamedEqualsWhole(unsigned int size, bool integerValued, const Variant & variant)
{
  using ImageType = itk::Image<TPixel, VDimension>;
  using LabelType = itk::Image<unsigned char, VDimension>;
  const auto image = MakePhantom<TPixel, VDimension>(size, integerValued);
  const auto mask = MakeMask<VDimension>(size);

  auto whole = itk::KMeansSegmentationImageFilter<ImageType, LabelType>::New();
  whole->SetInput(image);
  whole->SetNumberOfClasses(3);
  if (variant.Mask)
  {
    whole->SetMaskImage(mask);
  }
  whole->SetUseForegroundThreshold(variant.Threshold);
  whole->SetForegroundThreshold(variant.ThresholdValue);
  whole->Update();

  for (const unsigned int divisions : { 1u, 3u, 7u, 64u })
  {
    for (const unsigned int threads : { 1u, 2u })
    {
      SCOPED_TRACE("divisions " + std::to_string(divisions) + ", threads " + std::to_string(threads));
      auto estimator = MakeEstimator(image.GetPointer(), mask.GetPointer(), variant, divisions, threads);
      estimator->Update();
      EXPECT_LE(estimator->GetNumberOfPieces(), divisions);
      EXPECT_EQ(estimator->GetNumberOfPieces() > 1, divisions > 1);
      EXPECT_EQ(estimator->GetNumberOfPasses(), (std::is_integral_v<TPixel> && sizeof(TPixel) <= 2) ? 1u : 2u);
      ExpectSameModel(estimator->GetModel(), whole->GetModel());

      const auto labels = LabelStreamed<ImageType, LabelType>(
        image.GetPointer(), variant.Mask ? mask.GetPointer() : nullptr, estimator->GetModel(), divisions, threads);
      EXPECT_EQ(CountDifferences(labels.GetPointer(), whole->GetOutput(), image->GetLargestPossibleRegion()), 0u);
    }
  }
}

/** GaussianMixtureSegmentationImageFilter (no MRF) on the whole image vs the estimator's Gaussian mixture and the
 * label filter, both streamed in 1, 3 and 7 pieces on one and two threads. */
template <typename TPixel, unsigned int VDimension>
void
CheckStreamedMixtureEqualsWhole(unsigned int size, bool integerValued, const Variant & variant, bool automatic)
{
  using ImageType = itk::Image<TPixel, VDimension>;
  using LabelType = itk::Image<unsigned char, VDimension>;
  const auto image = MakePhantom<TPixel, VDimension>(size, integerValued);
  const auto mask = MakeMask<VDimension>(size);

  auto whole = itk::GaussianMixtureSegmentationImageFilter<ImageType, LabelType>::New();
  whole->SetInput(image);
  whole->SetNumberOfClasses(3);
  whole->SetAutomaticNumberOfClasses(automatic);
  whole->SetMaximumNumberOfClasses(4);
  whole->SetUseCommonVariance(true);
  if (variant.Mask)
  {
    whole->SetMaskImage(mask);
  }
  whole->SetUseForegroundThreshold(variant.Threshold);
  whole->SetForegroundThreshold(variant.ThresholdValue);
  whole->Update();
  ASSERT_TRUE(whole->GetReseededClasses().empty());

  itk::GaussianMixtureOnLevels::Parameters parameters;
  parameters.AutomaticNumberOfClasses = automatic;
  parameters.MaximumNumberOfClasses = 4;
  parameters.CommonVariance = true;
  for (const unsigned int divisions : { 1u, 3u, 7u })
  {
    for (const unsigned int threads : { 1u, 2u })
    {
      SCOPED_TRACE("divisions " + std::to_string(divisions) + ", threads " + std::to_string(threads));
      auto estimator = MakeEstimator(image.GetPointer(), mask.GetPointer(), variant, divisions, threads);
      estimator->GaussianMixtureOn();
      estimator->SetGaussianMixtureParameters(parameters);
      estimator->Update();
      EXPECT_EQ(estimator->GetNumberOfPieces() > 1, divisions > 1);
      const auto & model = estimator->GetModel();
      EXPECT_EQ(model.ModelName, "gmm");
      EXPECT_EQ(model.ClassMeans, whole->GetClassMeans());
      EXPECT_EQ(model.ClassVariances, whole->GetClassVariances());
      EXPECT_EQ(model.ClassProportions, whole->GetClassProportions());
      EXPECT_EQ(model.LogLikelihood, whole->GetLogLikelihood());
      EXPECT_EQ(model.BayesianInformationCriterionForEachK, whole->GetBayesianInformationCriterionForEachK());
      const auto & selection = whole->GetNumberOfClassesSelection();
      EXPECT_EQ(model.NumberOfClassesSelection.GaussianLogLikelihoodPerSample, selection.GaussianLogLikelihoodPerSample);
      EXPECT_EQ(model.NumberOfClassesSelection.PartialVolumeLogLikelihoodPerSample,
                selection.PartialVolumeLogLikelihoodPerSample);
      EXPECT_EQ(model.NumberOfClassesSelection.NumberOfClasses, selection.NumberOfClasses);
      EXPECT_EQ(model.NumberOfClassesSelection.LargestChosen, selection.LargestChosen);
      EXPECT_EQ(model.NumberOfClassifiedPixels, whole->GetNumberOfClassifiedPixels());

      const auto labels = LabelStreamed<ImageType, LabelType>(
        image.GetPointer(), variant.Mask ? mask.GetPointer() : nullptr, model, divisions, threads);
      EXPECT_EQ(CountDifferences(labels.GetPointer(), whole->GetOutput(), image->GetLargestPossibleRegion()), 0u);
    }
  }
}
} // namespace

TEST(KMeansSegmentationStreaming, GaussianMixtureMatchesWholeImageFor1To7Pieces)
{
  CheckStreamedMixtureEqualsWhole<short, 2>(96, true, Variant{ true, true, 400 }, false);
  CheckStreamedMixtureEqualsWhole<short, 3>(24, true, Variant{ false, true, 0 }, false);
  CheckStreamedMixtureEqualsWhole<float, 3>(24, false, Variant{ true, true, 0 }, false);
  CheckStreamedMixtureEqualsWhole<short, 2>(96, true, Variant{ false, true, 0 }, true);
}

TEST(KMeansSegmentationStreaming, GaussianMixtureModelIsValidAndRefusesBadLabels)
{
  using ImageType = itk::Image<short, 2>;
  auto estimator = itk::KMeansSegmentationEstimator<ImageType>::New();
  estimator->SetInput(MakePhantom<short, 2>(64, true));
  estimator->SetNumberOfClasses(3);
  estimator->GaussianMixtureOn();
  estimator->UseForegroundThresholdOn();
  estimator->Update();
  itk::KMeansIntensityModel model = estimator->GetModel();
  EXPECT_NO_THROW(model.Validate());
  EXPECT_EQ(model.BinLabels.size(), model.Binning.GetNumberOfBins());
  model.BinLabels[5] = 4;
  try
  {
    model.Validate();
    FAIL() << "no exception";
  }
  catch (const std::invalid_argument & error)
  {
    EXPECT_EQ(std::string(error.what()), "bin labels must lie in 1..3");
  }
  model.ModelName = "fcm";
  EXPECT_THROW(model.Validate(), std::invalid_argument);
}

TEST(KMeansSegmentationStreaming, Short2DAndMaskAndThresholdMatchWholeImage)
{
  for (const Variant v : { Variant{ false, false, 0 }, Variant{ true, false, 0 }, Variant{ true, true, 400 } })
  {
    CheckStreamedEqualsWhole<short, 2>(96, true, v);
  }
}

TEST(KMeansSegmentationStreaming, Short3DAndThresholdMatchWholeImage)
{
  CheckStreamedEqualsWhole<short, 3>(24, true, Variant{ false, true, 0 });
  CheckStreamedEqualsWhole<short, 3>(24, true, Variant{ true, false, 0 });
}

TEST(KMeansSegmentationStreaming, FloatBinnedAndIntegerValuedMatchWholeImage)
{
  // Non-integer floats: 65536 bins from the range of the voxels that take part (a streamed range pass).
  CheckStreamedEqualsWhole<float, 2>(80, false, Variant{ true, true, 100.5 });
  CheckStreamedEqualsWhole<float, 3>(20, false, Variant{ false, false, 0 });
  // Integer-valued floats and 32-bit integers: exact bins from the range.
  CheckStreamedEqualsWhole<float, 3>(20, true, Variant{ true, true, 0 });
  CheckStreamedEqualsWhole<int, 2>(64, true, Variant{ false, true, 0 });
}

TEST(KMeansSegmentationStreaming, SubRegionIsTheSameRegionOfTheWholeResult)
{
  using ImageType = itk::Image<float, 3>;
  using LabelType = itk::Image<unsigned char, 3>;
  const auto image = MakePhantom<float, 3>(24, false);
  auto       whole = itk::KMeansSegmentationImageFilter<ImageType, LabelType>::New();
  whole->SetInput(image);
  whole->SetNumberOfClasses(4);
  whole->Update();

  auto labeler = itk::KMeansLabelImageFilter<ImageType, LabelType>::New();
  labeler->SetInput(image);
  labeler->SetModel(whole->GetModel());
  const LabelType::RegionType part({ { 3, 5, 7 } }, { { 10, 4, 9 } });
  labeler->GetOutput()->SetRequestedRegion(part);
  labeler->Update();
  EXPECT_EQ(labeler->GetOutput()->GetBufferedRegion(), part); // no enlargement to the whole image
  EXPECT_EQ(CountDifferences(labeler->GetOutput(), whole->GetOutput(), part), 0u);
}

TEST(KMeansSegmentationStreaming, ReaderRunsOncePerPieceAndPassFromAFile)
{
  using ImageType = itk::Image<float, 3>;
  using LabelType = itk::Image<unsigned char, 3>;
  // ITK's GoogleTest driver (module builds) registers no ImageIO factories; plain builds do it through
  // ITK_USE_FILE. MetaImage streams both ways; a second registration is ignored.
  itk::MetaImageIOFactory::RegisterOneFactory();
  const auto image = MakePhantom<float, 3>(32, false);
  const auto directory = std::filesystem::current_path() / "kmeans-streaming-test";
  std::filesystem::create_directories(directory);
  const std::string input = (directory / "phantom.mha").string();
  const std::string output = (directory / "labels.mha").string();
  itk::WriteImage(image, input);

  auto whole = itk::KMeansSegmentationImageFilter<ImageType, LabelType>::New();
  whole->SetInput(image);
  whole->SetNumberOfClasses(3);
  whole->Update();

  auto reader = itk::ImageFileReader<ImageType>::New();
  reader->SetFileName(input);
  auto estimator = itk::KMeansSegmentationEstimator<ImageType>::New();
  estimator->SetInput(reader->GetOutput());
  estimator->SetNumberOfClasses(3);
  estimator->SetNumberOfStreamDivisions(8);
  estimator->Update();
  // The reader produced the last piece only: one eighth of the slices.
  EXPECT_EQ(reader->GetOutput()->GetBufferedRegion().GetSize()[2], 4u);
  EXPECT_EQ(reader->GetOutput()->GetBufferedRegion().GetIndex()[2], 28);
  ExpectSameModel(estimator->GetModel(), whole->GetModel());
  std::ostringstream printed;
  estimator->Print(printed);
  EXPECT_NE(printed.str().find("NumberOfStreamDivisions: 8"), std::string::npos) << printed.str();
  EXPECT_NE(printed.str().find("NumberOfPasses: 2"), std::string::npos) << printed.str();

  auto labeler = itk::KMeansLabelImageFilter<ImageType, LabelType>::New();
  labeler->SetInput(reader->GetOutput());
  labeler->SetModel(estimator->GetModel());
  auto writer = itk::ImageFileWriter<LabelType>::New();
  writer->SetInput(labeler->GetOutput());
  writer->SetFileName(output);
  writer->SetNumberOfStreamDivisions(5);
  writer->Update();
  EXPECT_LT(reader->GetOutput()->GetBufferedRegion().GetNumberOfPixels(), 32u * 32u * 8u);
  const auto written = itk::ReadImage<LabelType>(output);
  EXPECT_EQ(CountDifferences(written.GetPointer(), whole->GetOutput(), written->GetLargestPossibleRegion()), 0u);
  std::filesystem::remove_all(directory);
}

namespace
{
/** Histograms (NumberOfClasses 0) of the two halves of image along the slowest axis, merged. */
template <typename TImage>
itk::IntensityHistogramCounts
MergeHalves(const TImage * image, double threshold)
{
  std::vector<itk::IntensityHistogramCounts> parts;
  auto                                       region = image->GetLargestPossibleRegion();
  const auto                                 slices = region.GetSize(TImage::ImageDimension - 1);
  for (const auto & [first, count] : { std::pair<long, unsigned long>{ 0, slices / 3 },
                                     std::pair<long, unsigned long>{ slices / 3, slices - slices / 3 } })
  {
    auto piece = region;
    piece.SetIndex(TImage::ImageDimension - 1, first);
    piece.SetSize(TImage::ImageDimension - 1, count);
    auto extract = TImage::New(); // the part as an image of its own (a chunk of a volume, a scan of a cohort)
    extract->SetRegions(piece);
    extract->Allocate();
    itk::ImageAlgorithm::Copy(image, extract.GetPointer(), piece, piece);
    auto estimator = itk::KMeansSegmentationEstimator<TImage>::New();
    estimator->SetInput(extract);
    estimator->SetNumberOfClasses(0);
    estimator->UseForegroundThresholdOn();
    estimator->SetForegroundThreshold(threshold);
    estimator->Update();
    EXPECT_TRUE(estimator->GetModel().ClassMeans.empty());
    parts.push_back(estimator->GetHistogram().GetCounts());
  }
  return itk::IntensityHistogramCounts::Merge(parts);
}

template <typename TPixel>
void
CheckMergedEqualsUnion()
{
  using ImageType = itk::Image<TPixel, 3>;
  const auto image = MakePhantom<TPixel, 3>(20, true);
  auto       whole = itk::KMeansSegmentationImageFilter<ImageType>::New();
  whole->SetInput(image);
  whole->SetNumberOfClasses(3);
  whole->UseForegroundThresholdOn();
  whole->SetForegroundThreshold(0.0);
  whole->Update();
  const auto merged = MergeHalves(image.GetPointer(), 0.0);
  ExpectSameModel(itk::KMeansIntensityModel::Fit(merged, 3), whole->GetModel());
}
} // namespace

TEST(KMeansSegmentationStreaming, MergedHistogramsFitTheUnionsModel)
{
  CheckMergedEqualsUnion<short>();          // fixed bins: added
  CheckMergedEqualsUnion<unsigned char>();  // fixed bins: added
  CheckMergedEqualsUnion<float>();          // integer-valued: exact bins realigned
  CheckMergedEqualsUnion<int>();
}

TEST(KMeansSegmentationStreaming, MergeRefusesBinsThatDependOnEachRange)
{
  const auto image = MakePhantom<float, 3>(20, false);
  try
  {
    MergeHalves(image.GetPointer(), 0.0);
    FAIL() << "binned floating-point histograms of different ranges were merged";
  }
  catch (const std::invalid_argument & error)
  {
    EXPECT_EQ(std::string(error.what()).rfind("histogram 2 cannot be merged with the first: floating-point bins "
                                              "depend on each image's range",
                                              0),
              0u)
      << error.what();
  }
}

TEST(KMeansSegmentationStreaming, LabelFilterRefusesAModelOfAnotherPixelType)
{
  using ShortImage = itk::Image<short, 2>;
  using FloatImage = itk::Image<float, 2>;
  auto whole = itk::KMeansSegmentationImageFilter<ShortImage>::New();
  whole->SetInput(MakePhantom<short, 2>(32, true));
  whole->Update();
  auto labeler = itk::KMeansLabelImageFilter<FloatImage>::New();
  labeler->SetInput(MakePhantom<float, 2>(32, true));
  labeler->SetModel(whole->GetModel());
  try
  {
    labeler->Update();
    FAIL() << "a short model labeled a float image";
  }
  catch (const itk::ExceptionObject & error)
  {
    EXPECT_NE(std::string(error.GetDescription()).find("the model was fitted on short images, the input is float"),
              std::string::npos)
      << error.GetDescription();
  }
  auto empty = itk::KMeansLabelImageFilter<FloatImage>::New();
  empty->SetInput(MakePhantom<float, 2>(32, true));
  EXPECT_THROW(empty->Update(), itk::ExceptionObject);
}

TEST(KMeansSegmentationStreaming, ModelOfOneScanLabelsAnotherByItsLookUp)
{
  using ImageType = itk::Image<short, 2>;
  auto fit = itk::KMeansSegmentationImageFilter<ImageType>::New();
  fit->SetInput(MakePhantom<short, 2>(64, true));
  fit->SetNumberOfClasses(3);
  fit->Update();
  const auto & model = fit->GetModel();
  auto         other = ImageType::New();
  other->SetRegions(ImageType::SizeType{ { 4, 1 } });
  other->Allocate();
  // Below and above every intensity of the fitted scan: the first and the last class; at a class mean: its class.
  const short values[] = { -32768, static_cast<short>(std::lround(model.ClassMeans[1])),
                           static_cast<short>(std::lround(model.ClassMeans[2])), 32767 };
  for (int i = 0; i < 4; ++i)
  {
    other->SetPixel({ { i, 0 } }, values[i]);
  }
  auto labeler = itk::KMeansLabelImageFilter<ImageType>::New();
  labeler->SetInput(other);
  labeler->SetModel(model);
  labeler->Update();
  EXPECT_EQ(labeler->GetOutput()->GetPixel({ { 0, 0 } }), 1);
  EXPECT_EQ(labeler->GetOutput()->GetPixel({ { 1, 0 } }), 2);
  EXPECT_EQ(labeler->GetOutput()->GetPixel({ { 2, 0 } }), 3);
  EXPECT_EQ(labeler->GetOutput()->GetPixel({ { 3, 0 } }), 3);
}

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
#ifndef KMeansCLIImageInput_h
#define KMeansCLIImageInput_h

#include "cli/run/ErrorReporting.h"
#include "cli/inputs/NiftiHeader.h"

#include "itkImage.h"
#include "itkImageFileReader.h"
#include "itkKMeansSegmentationMemory.h"
#include "itkImageIOBase.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIterator.h"
#include "itkVectorImage.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kmeans_cli
{
/** What the header of an image file says, read before the pixels so the program can pick the pixel type. */
struct ImageInfo
{
  std::string         Path;
  std::string         Format;        //!< the ImageIO class, e.g. "NiftiImageIO"
  itk::IOComponentEnum ComponentType{ itk::IOComponentEnum::UNKNOWNCOMPONENTTYPE };
  std::string         ComponentTypeName; //!< e.g. "short", "unsigned_char", "float"
  std::string         PixelTypeName;     //!< e.g. "scalar", "rgb", "rgba"
  unsigned int        NumberOfComponents{ 1 };
  unsigned int        FileDimension{ 0 }; //!< as stored, before trailing sizes of 1 are dropped
  unsigned int        Dimension{ 0 };     //!< 2 or 3: the dimension the image is read with
  std::vector<std::size_t> Size;
  std::vector<double>      Spacing;
  std::vector<double>      Origin;
  /** Set by ReadScalarImage when a colour file whose channels are all equal was read as grey. */
  std::string Conversion;
  /** The intensity scaling the reader applies, value * ScaleSlope + ScaleIntercept (NIfTI scl_slope and
   * scl_inter, DICOM RescaleSlope and RescaleIntercept); 1 and 0 when none. */
  double ScaleSlope{ 1.0 };
  double ScaleIntercept{ 0.0 };
  /** The header of a NIfTI or Analyze file, as read before ITK. */
  std::optional<NiftiHeader> Nifti;
};

/** Check that path is a readable, non-empty image file that ITK can read, read its header, and check (before
 * reading the pixels) that the file holds all the pixel data its header announces: NIfTI-1 and Analyze 7.5
 * (single files, .hdr/.img pairs, raw or gzipped; from the stored datatype, not the float type ITK returns for a
 * scaled file), MetaImage with local or separate (optionally compressed) data. Throws FileError with a one-line
 * message. */
ImageInfo
ProbeImage(const std::string & path);

/** The ITK ImageIO for path, in read mode, with its information read (throws FileError). A NIfTI or Analyze
 * header is read first (into *nifti when given) and checked, header and completeness, before ITK reads it. */
itk::ImageIOBase::Pointer
CreateReadImageIO(const std::string & path, std::optional<NiftiHeader> * nifti = nullptr);

/** Read an image of type TImage (pixels converted by ITK if the file's type differs). Every ITK exception
 * becomes a one-line FileError, and the text readers print instead of throwing (GDCM's "Incomplete Pixel
 * Data", MetaIO's "not read completely") is captured and turned into an error too. The image is
 * disconnected from the reader's pipeline. */
template <typename TImage>
typename TImage::Pointer
ReadImage(const std::string & path)
{
  auto reader = itk::ImageFileReader<TImage>::New();
  reader->SetFileName(path);
  std::string failure;
  {
    CapturedMessages captured;
    try
    {
      // Allocate the reader's output here, so that the buffer can be given huge pages before the reader
      // fills it (itkKMeansSegmentationMemory.h: page faults can cost more than reading). The reader keeps a
      // buffer that is large enough; if it ever allocates another one, only the advice is lost.
      reader->UpdateOutputInformation();
      TImage * output = reader->GetOutput();
      if (output->GetNumberOfComponentsPerPixel() > 0)
      {
        output->SetBufferedRegion(output->GetLargestPossibleRegion());
        output->Allocate();
        itk::KMeansSegmentationMemory::AdviseHugePages(output);
        reader->ReleaseDataBeforeUpdateFlagOff();
      }
      reader->Update();
    }
    catch (const itk::ExceptionObject & exception)
    {
      throw FileError(path, OneLine(exception));
    }
    catch (const std::exception & exception)
    {
      throw FileError(path, exception.what());
    }
    failure = captured.FirstFailure();
  }
  if (!failure.empty())
  {
    throw FileError(path, "incomplete or unreadable pixel data (reader says: " + failure + ")");
  }
  typename TImage::Pointer image = reader->GetOutput();
  image->DisconnectPipeline();
  return image;
}

/** Where ITK's reader reads a NIfTI file's voxels otherwise than NIfTI defines them (NiftiHeader::ReaderMisreads:
 * a vox_offset below 352, as in SPM's older templates, or a scl_inter without scl_slope), they are read again here
 * from the file. Does nothing for other files. */
template <typename TImage>
void
CorrectMisreadNiftiPixels(const ImageInfo & info, TImage * image)
{
  if (!info.Nifti || !info.Nifti->ReaderMisreads())
  {
    return;
  }
  const std::vector<double> values = ReadNiftiPixels(*info.Nifti);
  if (values.size() != image->GetPixelContainer()->Size())
  {
    throw FileError(info.Path, "holds " + std::to_string(values.size()) + " voxels, ITK read " +
                                 std::to_string(image->GetPixelContainer()->Size()));
  }
  std::transform(values.begin(), values.end(), image->GetBufferPointer(),
                 [](double v) { return static_cast<typename TImage::PixelType>(v); });
}

/** Read info.Path as a scalar image of pixel type TPixel (the file's own component type, see
 * DispatchScalarImage). A colour file (RGB, RGBA, grey + alpha, or a palette PNG, which ITK expands to RGB)
 * is accepted only when its colour channels are equal at every pixel and its alpha channel is constant: it is
 * then read as grey and info.Conversion says so; any other colour image is refused, since K-means of one
 * intensity per pixel is not defined for it. */
template <typename TPixel, unsigned int VDimension>
typename itk::Image<TPixel, VDimension>::Pointer
ReadScalarImage(ImageInfo & info)
{
  using ImageType = itk::Image<TPixel, VDimension>;
  if (info.NumberOfComponents == 1)
  {
    auto image = ReadImage<ImageType>(info.Path);
    CorrectMisreadNiftiPixels(info, image.GetPointer());
    return image;
  }
  using VectorImageType = itk::VectorImage<TPixel, VDimension>;
  auto         colour = ReadImage<VectorImageType>(info.Path);
  const auto   components = colour->GetNumberOfComponentsPerPixel();
  const bool   hasAlpha = components == 2 || components == 4;
  const auto   colourChannels = hasAlpha ? components - 1 : components;
  auto         grey = ImageType::New();
  grey->CopyInformation(colour);
  grey->SetRegions(colour->GetLargestPossibleRegion());
  grey->Allocate();
  itk::ImageRegionConstIterator<VectorImageType> in(colour, colour->GetLargestPossibleRegion());
  itk::ImageRegionIterator<ImageType>            out(grey, grey->GetLargestPossibleRegion());
  const TPixel firstAlpha = hasAlpha ? in.Get()[components - 1] : TPixel{};
  for (; !in.IsAtEnd(); ++in, ++out)
  {
    const auto pixel = in.Get();
    for (unsigned int c = 1; c < colourChannels; ++c)
    {
      if (pixel[c] != pixel[0])
      {
        throw FileError(info.Path, "colour image (" + info.PixelTypeName + ", " + std::to_string(components) +
                                     " components) with different channels; K-means needs one intensity per "
                                     "pixel: convert it to grey-scale first");
      }
    }
    if (hasAlpha && pixel[components - 1] != firstAlpha)
    {
      throw FileError(info.Path, "image with a varying alpha (transparency) channel; save it without transparency");
    }
    out.Set(pixel[0]);
  }
  info.Conversion = info.PixelTypeName + " with equal channels read as grey-scale";
  return grey;
}

/** Tag type carrying a pixel type and a dimension through DispatchScalarImage. */
template <typename TPixel, unsigned int VDimension>
struct PixelTag
{
  using PixelType = TPixel;
  static constexpr unsigned int Dimension = VDimension;
};

/** Call functor(PixelTag<T, D>{}) with the file's own component type T (unsigned char, char, unsigned short,
 * short, unsigned int, int, float, double) and dimension D (2 or 3); throws FileError for other types. Every
 * instantiation of the functor must return the same type. */
template <typename TFunctor>
decltype(auto)
DispatchScalarImage(const ImageInfo & info, TFunctor && functor)
{
  auto byType = [&info, &functor](auto dimensionTag) -> decltype(auto) {
    constexpr unsigned int D = decltype(dimensionTag)::value;
    using C = itk::IOComponentEnum;
    switch (info.ComponentType)
    {
      case C::UCHAR:
        return functor(PixelTag<unsigned char, D>{});
      case C::CHAR:
        return functor(PixelTag<signed char, D>{});
      case C::USHORT:
        return functor(PixelTag<unsigned short, D>{});
      case C::SHORT:
        return functor(PixelTag<short, D>{});
      case C::UINT:
        return functor(PixelTag<unsigned int, D>{});
      case C::INT:
        return functor(PixelTag<int, D>{});
      case C::FLOAT:
        return functor(PixelTag<float, D>{});
      case C::DOUBLE:
        return functor(PixelTag<double, D>{});
      default:
        throw FileError(info.Path, "pixel type " + info.ComponentTypeName +
                                     " is not supported (unsigned char, char, unsigned short, short, unsigned "
                                     "int, int, float and double are)");
    }
  };
  if (info.Dimension == 2)
  {
    return byType(std::integral_constant<unsigned int, 2>{});
  }
  if (info.Dimension == 3)
  {
    return byType(std::integral_constant<unsigned int, 3>{});
  }
  throw FileError(info.Path, std::to_string(info.Dimension) + "-D image; only 2-D and 3-D images are supported");
}

} // namespace kmeans_cli

/** X(EXTERN, TPixel, VDimension) for each pixel type of DispatchScalarImage. */
#define KMEANS_CLI_FOR_EACH_SCALAR_PIXEL(X, EXTERN, VDimension)                                                  \
  X(EXTERN, unsigned char, VDimension)                                                                           \
  X(EXTERN, signed char, VDimension)                                                                             \
  X(EXTERN, unsigned short, VDimension)                                                                          \
  X(EXTERN, short, VDimension)                                                                                   \
  X(EXTERN, unsigned int, VDimension)                                                                            \
  X(EXTERN, int, VDimension)                                                                                     \
  X(EXTERN, float, VDimension)                                                                                   \
  X(EXTERN, double, VDimension)

/** ITK's reader and ReadScalarImage for one image type (EXTERN: extern, or empty to compile them here). The
 * reader with its pixel conversions for every file type is much of the code the pipelines generate, so it is
 * compiled once per type: in Read3D.cxx and Read2D.cxx. */
#define KMEANS_CLI_READ_SCALAR_IMAGE(EXTERN, TPixel, VDimension)                                                  \
  EXTERN template class itk::ImageFileReader<itk::Image<TPixel, VDimension>>;                                     \
  EXTERN template itk::Image<TPixel, VDimension>::Pointer kmeans_cli::ReadScalarImage<TPixel, VDimension>(        \
    kmeans_cli::ImageInfo &);
KMEANS_CLI_FOR_EACH_SCALAR_PIXEL(KMEANS_CLI_READ_SCALAR_IMAGE, extern, 2)
KMEANS_CLI_FOR_EACH_SCALAR_PIXEL(KMEANS_CLI_READ_SCALAR_IMAGE, extern, 3)

#endif

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
#ifndef KMeansCLI_ScanPipeline_h
#define KMeansCLI_ScanPipeline_h

// The steps of kmeans-segment for scans from scanners and for 3D Slicer, called from Segment.hxx: reading a
// DICOM series directory, preprocessing, progress, and writing a .seg.nrrd segmentation.
#include "cli/inputs/DicomSeries.h"
#include "cli/inputs/ImageInput.h"
#include "cli/outputs/ImageOutput.h"
#include "cli/options/Options.h"
#include "cli/inputs/Preprocessing.h"
#include "cli/run/Progress.h"
#include "cli/outputs/Report.h"
#include "cli/outputs/SlicerSegmentation.h"

#include "itkCastImageFilter.h"

#include <type_traits>

namespace kmeans_cli
{
/** The program's progress reporter, in the mode the options ask for (see ChooseProgressMode). */
ProgressReporter &
ProgramProgress(const Options & options);

/** Checks what the scan options need before any work (--tissues needs K = 3, batch options). */
void
CheckScanOptions(const Options & options);

/** ProbeImage for a file (refusing multi-frame DICOM objects and DICOM files cut short), or for a directory the
 * checked DICOM series it holds (--series picks one): float voxels, 3-D. Nothing of the pixel data is read. */
ImageInfo
ProbeScanInput(const std::string & path, const Options & options);

/** Reads INPUT described by ProbeScanInput: a DICOM series (with progress and a "dicom" report entry) or any
 * image file through ReadScalarImage. */
template <typename TPixel, unsigned int VDimension>
typename itk::Image<TPixel, VDimension>::Pointer
ReadScanInput(const Options & options, ImageInfo & info, Report & report)
{
  if (!IsDirectory(info.Path))
  {
    return ReadScalarImage<TPixel, VDimension>(info);
  }
  if constexpr (std::is_same_v<TPixel, float> && VDimension == 3)
  {
    ProgressReporter &  progress = ProgramProgress(options);
    DicomSeriesReadInfo series;
    progress.Start("Reading DICOM series", info.Path);
    auto image = ReadDicomSeries(info.Path, options.Scan.Series, &series, [&progress](float fraction) {
      progress.Update(fraction);
    });
    progress.End();
    info.ScaleSlope = series.RescaleSlope;
    info.ScaleIntercept = series.RescaleIntercept;
    report["dicom"] = { { "directory", series.Directory },
                        { "series_instance_uid", series.SeriesInstanceUID },
                        { "description", series.Description },
                        { "transfer_syntax", series.TransferSyntaxUID },
                        { "slices", series.NumberOfSlices },
                        { "slice_spacing_mm", series.SliceSpacing },
                        { "max_spacing_deviation_mm", series.MaxSpacingDeviation },
                        { "rescale_slope", series.RescaleSlope },
                        { "rescale_intercept", series.RescaleIntercept },
                        { "oblique", series.Oblique } };
    return image;
  }
  else
  {
    throw FileError(info.Path, "a DICOM series is read as a 3-D float image");
  }
}

/** --auto-mask, --n4, --denoise (in that order) on \a image and \a mask, recorded in report["preprocessing"].
 * N4 and denoising need float voxels (RunKMeansSegment then reads the input as float); the automatic mask
 * works for any type. */
template <typename TPixel, unsigned int VDimension>
void
PreprocessScanInput(const Options &                                          options,
                    typename itk::Image<TPixel, VDimension>::Pointer &        image,
                    typename itk::Image<unsigned char, VDimension>::Pointer & mask,
                    Report &                                                 report)
{
  const PreprocessingOptions & pre = options.Scan.Preprocessing;
  if (!pre.Any())
  {
    return;
  }
  using FloatImageType = itk::Image<float, VDimension>;
  PreprocessingResult<VDimension> result;
  try
  {
    if constexpr (std::is_same_v<TPixel, float>)
    {
      result = Preprocess<VDimension>(image, mask, pre, &ProgramProgress(options));
      image = result.Image;
    }
    else
    {
      if (pre.N4 || pre.Denoise)
      {
        throw std::logic_error("N4 and denoising need the image read as float");
      }
      auto cast = itk::CastImageFilter<itk::Image<TPixel, VDimension>, FloatImageType>::New();
      cast->SetInput(image);
      cast->Update();
      result = Preprocess<VDimension>(cast->GetOutput(), mask, pre, &ProgramProgress(options));
    }
  }
  catch (const itk::ExceptionObject & exception)
  {
    throw FileError(options.Inputs.front(), "preprocessing failed: " + OneLine(exception));
  }
  catch (const std::runtime_error & error)
  {
    throw FileError(options.Inputs.front(), error.what());
  }
  mask = result.Mask;
  report["preprocessing"] = ReportJson::parse(result.Record.dump());
}

/** Writes the label map to options.Output: a 3D Slicer segmentation (segment names, colours, extents) when the
 * name ends in .seg.nrrd, otherwise the plain label map in the format of the extension. Atomic either way. */
template <unsigned int VDimension>
void
WriteScanLabelMap(const itk::Image<unsigned char, VDimension> * labels, const Options & options, Report & report)
{
  if (!IsSlicerSegmentationPath(options.Output))
  {
    WriteImageAtomically(labels, options.Output);
    return;
  }
  const auto segments = MakeSlicerSegments(options.NumberOfClasses, options.Scan.Tissues);
  auto       segmentation = MakeSlicerSegmentationImage(labels, segments);
  WriteImageAtomically(segmentation.GetPointer(), options.Output);
  ReportJson names = ReportJson::array();
  for (const SlicerSegment & segment : segments)
  {
    names.push_back(segment.Name);
  }
  report["slicer_segmentation"] = { { "path", options.Output }, { "segments", names } };
}
} // namespace kmeans_cli

/** ReadScanInput for one image type (EXTERN: extern, or empty to compile it here: in Read3D.cxx and Read2D.cxx). */
#define KMEANS_CLI_READ_SCAN_INPUT(EXTERN, TPixel, VDimension)                                                    \
  EXTERN template itk::Image<TPixel, VDimension>::Pointer kmeans_cli::ReadScanInput<TPixel, VDimension>(          \
    const kmeans_cli::Options &, kmeans_cli::ImageInfo &, kmeans_cli::Report &);
KMEANS_CLI_FOR_EACH_SCALAR_PIXEL(KMEANS_CLI_READ_SCAN_INPUT, extern, 2)
KMEANS_CLI_FOR_EACH_SCALAR_PIXEL(KMEANS_CLI_READ_SCAN_INPUT, extern, 3)

#endif

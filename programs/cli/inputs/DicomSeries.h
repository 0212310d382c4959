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
#ifndef KMeansCLI_DicomSeries_h
#define KMeansCLI_DicomSeries_h

#include "itkImage.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace kmeans_cli
{
/** One slice file of a DICOM series as read from its header (nothing of the pixel data is read). */
struct DicomSliceHeader
{
  std::string           FileName;
  std::string           SeriesInstanceUID;
  std::string           SeriesDescription;
  std::string           Modality;
  std::string           SOPClassUID;
  std::string           TransferSyntaxUID;
  unsigned int          Rows{ 0 };
  unsigned int          Columns{ 0 };
  unsigned int          NumberOfFrames{ 1 };
  unsigned int          SamplesPerPixel{ 1 };
  unsigned int          BitsAllocated{ 0 };
  int                   InstanceNumber{ 0 };
  bool                  HasPosition{ false };
  bool                  HasOrientation{ false };
  std::array<double, 3> ImagePositionPatient{ { 0.0, 0.0, 0.0 } };
  std::array<double, 6> ImageOrientationPatient{ { 1.0, 0.0, 0.0, 0.0, 1.0, 0.0 } };
  std::array<double, 2> PixelSpacing{ { 1.0, 1.0 } }; // DICOM order: between rows, between columns
  double                SliceThickness{ 0.0 };
  double                RescaleSlope{ 1.0 };
  double                RescaleIntercept{ 0.0 };
  bool                  EncapsulatedPixelData{ false };
  bool                  HasPixelData{ false };
  /** False when the file ends before the end of its (uncompressed) pixel data. */
  bool                  PixelDataComplete{ true };
  std::uintmax_t        FileSize{ 0 };
  std::uint64_t         PixelDataBytesExpected{ 0 };
  std::uint64_t         PixelDataBytesPresent{ 0 };
};

/** A series found in a directory: what `--list-series` prints and `--series UID` selects. */
struct DicomSeriesInfo
{
  std::string                   SeriesInstanceUID;
  std::string                   Description;
  std::string                   Modality;
  unsigned int                  Rows{ 0 };
  unsigned int                  Columns{ 0 };
  std::vector<DicomSliceHeader> Slices; // in the order of the directory listing
};

/** Geometry and provenance of a series that was read. */
struct DicomSeriesReadInfo
{
  std::string                  Directory;
  std::string                  SeriesInstanceUID;
  std::string                  Description;
  std::string                  TransferSyntaxUID;
  std::size_t                  NumberOfSlices{ 0 };
  double                       SliceSpacing{ 0.0 };     // median distance between slice positions
  double                       MaxSpacingDeviation{ 0.0 }; // largest |gap - median| in mm
  double                       RescaleSlope{ 1.0 };
  double                       RescaleIntercept{ 0.0 };
  bool                         Oblique{ false };
  std::vector<std::string>     SortedFileNames;
};

/** Raised for everything that makes a series unusable; what() is one line naming the file or directory. */
class DicomSeriesError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

using DicomImageType = itk::Image<float, 3>;
using DicomProgressCallback = std::function<void(float)>;

/** True when \a path is a directory (the program then reads it as a DICOM series). */
bool
IsDirectory(const std::string & path);

/** Reads the header of one file. Returns false (and leaves \a header partly filled) when it is no DICOM file. */
bool
ReadDicomSliceHeader(const std::string & fileName, DicomSliceHeader & header);

/** Every DICOM series in \a directory (not recursive; files that are not DICOM are ignored), by series UID.
 * Throws DicomSeriesError when the directory cannot be read or holds no DICOM image. */
std::vector<DicomSeriesInfo>
ListDicomSeries(const std::string & directory);

/** One line per series: UID, description, modality, columns x rows x slices. */
std::string
FormatDicomSeriesList(const std::vector<DicomSeriesInfo> & series);

/** Picks the series \a seriesUID (any series when the directory holds one and \a seriesUID is empty). Throws
 * DicomSeriesError, whose message ends with the list, when the choice is missing or unknown. */
const DicomSeriesInfo &
SelectDicomSeries(const std::string & directory, const std::vector<DicomSeriesInfo> & series, const std::string & seriesUID);

/** Checks a series before it is read: one frame and one sample per file, the same size, pixel spacing and
 * orientation everywhere, pixel data complete, slices evenly spaced along the slice normal with no gap and no
 * shear. Returns the files sorted along the normal and the geometry; throws DicomSeriesError otherwise. */
DicomSeriesReadInfo
CheckDicomSeries(const std::string & directory, const DicomSeriesInfo & series);

/** Reads a checked series with ITK's GDCM reader (all transfer syntaxes GDCM decodes; rescale slope and
 * intercept applied, float voxels). Origin, spacing and direction come from the slice headers: the direction's
 * third column is the slice normal, oblique orientations are kept. */
DicomImageType::Pointer
ReadDicomSeries(const std::string &           directory,
                const std::string &           seriesUID,
                DicomSeriesReadInfo *         info = nullptr,
                const DicomProgressCallback & progress = {});

/** Refuses a single DICOM file the program cannot read correctly (multi-frame objects whose per-frame geometry
 * ITK's reader loses, files cut short). Does nothing for files that are not DICOM. */
void
CheckSingleDicomFile(const std::string & fileName);

} // namespace kmeans_cli

#endif

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
#include "cli/inputs/DicomSeries.h"

#include "cli/inputs/DicomElementScan.h"
#include "cli/run/ErrorReporting.h"

#include "itkGDCMImageIO.h"
#include "itkImageSeriesReader.h"

#include "gdcmAttribute.h"
#include "gdcmReader.h"
#include "gdcmTrace.h"
#include "gdcmTransferSyntax.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iomanip>
#include <map>
#include <numeric>
#include <sstream>

namespace kmeans_cli
{
namespace
{
const gdcm::Tag PixelDataTag(0x7fe0, 0x0010);

std::string
Trim(std::string text)
{
  const auto last = text.find_last_not_of(std::string(" \t\r\n\0", 5));
  text.erase(last == std::string::npos ? 0 : last + 1);
  const auto first = text.find_first_not_of(" \t\r\n");
  return first == std::string::npos ? std::string() : text.substr(first);
}

std::string
GetString(const gdcm::DataSet & dataSet, const gdcm::Tag & tag)
{
  if (!dataSet.FindDataElement(tag))
  {
    return {};
  }
  const gdcm::DataElement & element = dataSet.GetDataElement(tag);
  const gdcm::ByteValue *   value = element.GetByteValue();
  if (element.IsEmpty() || value == nullptr)
  {
    return {};
  }
  return Trim(std::string(value->GetPointer(), value->GetLength()));
}

/** Backslash-separated decimal strings (DS / IS). */
std::vector<double>
GetNumbers(const gdcm::DataSet & dataSet, const gdcm::Tag & tag)
{
  std::vector<double> numbers;
  std::stringstream   stream(GetString(dataSet, tag));
  std::string         item;
  while (std::getline(stream, item, '\\'))
  {
    try
    {
      numbers.push_back(std::stod(item));
    }
    catch (const std::exception &)
    {
      return {};
    }
  }
  return numbers;
}

template <uint16_t Group, uint16_t Element>
unsigned int
GetUnsignedShort(const gdcm::DataSet & dataSet, unsigned int fallback)
{
  gdcm::Attribute<Group, Element> attribute;
  const gdcm::Tag                 tag(Group, Element);
  if (!dataSet.FindDataElement(tag) || dataSet.GetDataElement(tag).IsEmpty())
  {
    return fallback;
  }
  attribute.SetFromDataSet(dataSet);
  return attribute.GetValue();
}

std::array<double, 3>
Cross(const std::array<double, 3> & a, const std::array<double, 3> & b)
{
  return { { a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0] } };
}

double
Dot(const std::array<double, 3> & a, const std::array<double, 3> & b)
{
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

std::string
BaseName(const std::string & path)
{
  return std::filesystem::path(path).filename().string();
}

std::string
Millimetres(double value)
{
  std::ostringstream text;
  text << std::setprecision(4) << value << " mm";
  return text.str();
}

bool
IsMultiFrameSOPClass(const std::string & sopClassUID)
{
  static const char * const enhanced[] = {
    "1.2.840.10008.5.1.4.1.1.4.1",   // Enhanced MR Image Storage
    "1.2.840.10008.5.1.4.1.1.4.3",   // Enhanced MR Color Image Storage
    "1.2.840.10008.5.1.4.1.1.4.4",   // Legacy Converted Enhanced MR Image Storage
    "1.2.840.10008.5.1.4.1.1.2.1",   // Enhanced CT Image Storage
    "1.2.840.10008.5.1.4.1.1.2.2",   // Legacy Converted Enhanced CT Image Storage
    "1.2.840.10008.5.1.4.1.1.130",   // Enhanced PET Image Storage
    "1.2.840.10008.5.1.4.1.1.128.1", // Legacy Converted Enhanced PET Image Storage
  };
  return std::any_of(std::begin(enhanced), std::end(enhanced), [&](const char * uid) { return sopClassUID == uid; });
}

/** Checks that the file holds all bytes of its Pixel Data element, whose value starts at \a valueStart (where
 * gdcm::Reader stops when it reads up to Pixel Data and skips its value). */
void
CheckPixelData(const std::string & fileName, std::size_t valueStart, const gdcm::TransferSyntax & syntax,
               DicomSliceHeader & header)
{
  const std::size_t headerLength = syntax.IsExplicit() ? 12 : 8;
  if (valueStart < headerLength)
  {
    return;
  }
  std::ifstream stream(fileName, std::ios::binary);
  stream.seekg(static_cast<std::streamoff>(valueStart - headerLength));
  unsigned char bytes[12] = {};
  stream.read(reinterpret_cast<char *>(bytes), static_cast<std::streamsize>(headerLength));
  if (stream.gcount() != static_cast<std::streamsize>(headerLength))
  {
    return;
  }
  const bool bigEndian = syntax.GetSwapCode() == gdcm::SwapCode::BigEndian;
  auto       read16 = [&](const unsigned char * p) {
    return bigEndian ? static_cast<uint32_t>(p[0] << 8 | p[1]) : static_cast<uint32_t>(p[1] << 8 | p[0]);
  };
  auto read32 = [&](const unsigned char * p) {
    return bigEndian ? (uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]))
                     : (uint32_t(p[3]) << 24 | uint32_t(p[2]) << 16 | uint32_t(p[1]) << 8 | uint32_t(p[0]));
  };
  if (read16(bytes) != 0x7fe0 || read16(bytes + 2) != 0x0010)
  {
    return;
  }
  header.HasPixelData = true;
  const uint64_t length = read32(bytes + headerLength - 4);
  if (length == 0xffffffffu)
  {
    // Encapsulated (compressed) pixel data: the fragments are checked when GDCM decodes them.
    header.EncapsulatedPixelData = true;
    return;
  }
  const uint64_t bitsAllocated = std::max(header.BitsAllocated, 1u);
  const uint64_t expected = (uint64_t(header.Rows) * header.Columns * header.SamplesPerPixel *
                               std::max(header.NumberOfFrames, 1u) * bitsAllocated + 7) / 8;
  header.PixelDataBytesExpected = expected;
  header.PixelDataBytesPresent = header.FileSize > valueStart ? header.FileSize - valueStart : 0;
  header.PixelDataComplete = length >= expected && header.PixelDataBytesPresent >= expected;
}
/** Collects GDCM's warnings and errors while it lives (they would otherwise interleave with the program's own
 * one-line messages); everything that matters is checked here and reported as an error. */
class GDCMMessageCapture
{
public:
  GDCMMessageCapture()
  {
    gdcm::Trace::SetWarningStream(m_Stream);
    gdcm::Trace::SetErrorStream(m_Stream);
  }
  ~GDCMMessageCapture()
  {
    gdcm::Trace::SetWarningStream(std::cerr);
    gdcm::Trace::SetErrorStream(std::cerr);
  }
  GDCMMessageCapture(const GDCMMessageCapture &) = delete;
  GDCMMessageCapture &
  operator=(const GDCMMessageCapture &) = delete;

  /** The first line that says pixel data are missing, or empty. */
  std::string
  Incomplete() const
  {
    std::istringstream lines(m_Stream.str());
    std::string        line;
    while (std::getline(lines, line))
    {
      if (line.find("Incomplete") != std::string::npos || line.find("incomplete") != std::string::npos)
      {
        return Trim(line);
      }
    }
    return {};
  }

private:
  std::ostringstream m_Stream;
};
} // namespace

bool
IsDirectory(const std::string & path)
{
  std::error_code error;
  return std::filesystem::is_directory(path, error);
}

bool
ReadDicomSliceHeader(const std::string & fileName, DicomSliceHeader & header)
{
  header = DicomSliceHeader();
  header.FileName = fileName;
  std::error_code error;
  header.FileSize = std::filesystem::file_size(fileName, error);
  if (error)
  {
    return false;
  }
  if (header.FileSize < 8)
  {
    return false; // not DICOM; GDCM's check of the first eight bytes would read past the end (and it then asserts)
  }
  gdcm::Reader reader;
  reader.SetFileName(fileName.c_str());
  if (!reader.CanRead())
  {
    return false;
  }
  // GDCM takes it for DICOM. Element lengths past the end of the file make GDCM allocate them or abort: such a
  // file is refused here first (FileError). What the scan takes for no DICOM file (a NIfTI or Analyze header
  // whose sizeof_hdr, stored big endian, GDCM's check also accepts) is not handed to GDCM: on one of 13 bytes it
  // aborted on an assertion (found by fuzzing).
  if (ScanDicomElements(fileName) == DicomElementScanResult::NotDicom)
  {
    return false;
  }
  if (!reader.ReadUpToTag(PixelDataTag, { PixelDataTag }))
  {
    return false;
  }
  const std::size_t            position = reader.GetStreamCurrentPosition();
  const gdcm::File &           file = reader.GetFile();
  const gdcm::DataSet &        dataSet = file.GetDataSet();
  const gdcm::TransferSyntax & syntax = file.GetHeader().GetDataSetTransferSyntax();
  header.TransferSyntaxUID = gdcm::TransferSyntax::GetTSString(syntax) ? gdcm::TransferSyntax::GetTSString(syntax) : "";
  header.SeriesInstanceUID = GetString(dataSet, gdcm::Tag(0x0020, 0x000e));
  header.SeriesDescription = GetString(dataSet, gdcm::Tag(0x0008, 0x103e));
  header.Modality = GetString(dataSet, gdcm::Tag(0x0008, 0x0060));
  header.SOPClassUID = GetString(dataSet, gdcm::Tag(0x0008, 0x0016));
  header.Rows = GetUnsignedShort<0x0028, 0x0010>(dataSet, 0);
  header.Columns = GetUnsignedShort<0x0028, 0x0011>(dataSet, 0);
  header.SamplesPerPixel = GetUnsignedShort<0x0028, 0x0002>(dataSet, 1);
  // (ScanDicomElements refused Samples per Pixel other than 1, 3 or 4, on which GDCM 3.0 asserts.)
  header.BitsAllocated = GetUnsignedShort<0x0028, 0x0100>(dataSet, 16);
  std::string photometric = GetString(dataSet, gdcm::Tag(0x0028, 0x0004));
  photometric.erase(photometric.find_last_not_of(std::string(" \0", 2)) + 1);
  static const char * const photometrics[] = { "",         "MONOCHROME1",  "MONOCHROME2",     "PALETTE COLOR",
                                               "RGB",      "HSV",          "ARGB",            "CMYK",
                                               "YBR_FULL", "YBR_FULL_422", "YBR_PARTIAL_422", "YBR_PARTIAL_420",
                                               "YBR_ICT",  "YBR_RCT" };
  if (std::find(std::begin(photometrics), std::end(photometrics), photometric) == std::end(photometrics))
  {
    // GDCM 3.0 aborts on an assertion when it reads an image with another one.
    throw FileError(fileName, "damaged DICOM file: Photometric Interpretation (0028,0004) \"" + photometric +
                                "\" is not one DICOM defines; not read");
  }
  if (photometric == "PALETTE COLOR" && !(dataSet.FindDataElement(gdcm::Tag(0x0028, 0x1101)) &&
                                          dataSet.FindDataElement(gdcm::Tag(0x0028, 0x1102)) &&
                                          dataSet.FindDataElement(gdcm::Tag(0x0028, 0x1103))))
  {
    // Likewise.
    throw FileError(fileName, "damaged DICOM file: a PALETTE COLOR image without its palette descriptors "
                              "(0028,1101) to (0028,1103); not read");
  }
  for (uint16_t colour = 0; photometric == "PALETTE COLOR" && colour < 3; ++colour)
  {
    // GDCM 3.0 asserts (PixmapReader::ReadImageInternal) when a colour has neither its lookup table data nor
    // its segmented lookup table data.
    const gdcm::Tag data(0x0028, static_cast<uint16_t>(0x1201 + colour));
    const gdcm::Tag segmented(0x0028, static_cast<uint16_t>(0x1221 + colour));
    if (!dataSet.FindDataElement(data) && !dataSet.FindDataElement(segmented))
    {
      static const char * const missing[] = { "Red Palette Color Lookup Table Data (0028,1201) or (0028,1221)",
                                              "Green Palette Color Lookup Table Data (0028,1202) or (0028,1222)",
                                              "Blue Palette Color Lookup Table Data (0028,1203) or (0028,1223)" };
      throw FileError(fileName, std::string("damaged DICOM file: a PALETTE COLOR image without its ") +
                                  missing[colour] + "; not read");
    }
  }
  const gdcm::Tag recognition(0x0008, 0x0010);
  if (dataSet.FindDataElement(recognition) && !dataSet.GetDataElement(recognition).IsEmpty())
  {
    // GDCM 3.0 asserts (PixmapReader::ReadImageInternal) on a Recognition Code that does not start with ACR-NEMA,
    // ACRNEMA or MIPS 2.0 (found by fuzzing).
    const gdcm::ByteValue * value = dataSet.GetDataElement(recognition).GetByteValue();
    std::string             code = value != nullptr ? std::string(value->GetPointer(), value->GetLength()) : "";
    if (!(code.rfind("ACR-NEMA", 0) == 0 || code.rfind("ACRNEMA", 0) == 0 || code.rfind("MIPS 2.0", 0) == 0))
    {
      std::replace_if(code.begin(), code.end(), [](char c) { return c < ' ' || c > '~'; }, '?');
      throw FileError(fileName, "damaged DICOM file: Recognition Code (0008,0010) \"" + code.substr(0, 32) +
                                  "\" is not ACR-NEMA's; not read");
    }
  }
  const gdcm::Tag bitsAllocated(0x0028, 0x0100), bitsStored(0x0028, 0x0101);
  if ((!dataSet.FindDataElement(bitsAllocated) || dataSet.GetDataElement(bitsAllocated).IsEmpty() ||
       GetUnsignedShort<0x0028, 0x0100>(dataSet, 0) == 0) &&
      (dataSet.FindDataElement(bitsStored) || header.Rows > 0 || header.Columns > 0))
  {
    // GDCM 3.0 then keeps a Bits Stored over its Bits Allocated of 0 and aborts on an assertion.
    throw FileError(fileName, "damaged DICOM file: an image without Bits Allocated (0028,0100); not read");
  }
  const std::vector<double> frames = GetNumbers(dataSet, gdcm::Tag(0x0028, 0x0008));
  header.NumberOfFrames = frames.empty() ? 1u : static_cast<unsigned int>(std::max(frames[0], 1.0));
  const std::vector<double> instance = GetNumbers(dataSet, gdcm::Tag(0x0020, 0x0013));
  header.InstanceNumber = instance.empty() ? 0 : static_cast<int>(instance[0]);
  const std::vector<double> position3 = GetNumbers(dataSet, gdcm::Tag(0x0020, 0x0032));
  if (position3.size() == 3)
  {
    header.HasPosition = true;
    std::copy(position3.begin(), position3.end(), header.ImagePositionPatient.begin());
  }
  const std::vector<double> orientation = GetNumbers(dataSet, gdcm::Tag(0x0020, 0x0037));
  if (orientation.size() == 6)
  {
    header.HasOrientation = true;
    std::copy(orientation.begin(), orientation.end(), header.ImageOrientationPatient.begin());
  }
  const std::vector<double> spacing = GetNumbers(dataSet, gdcm::Tag(0x0028, 0x0030));
  if (spacing.size() == 2 && spacing[0] > 0.0 && spacing[1] > 0.0)
  {
    header.PixelSpacing = { { spacing[0], spacing[1] } };
  }
  const std::vector<double> thickness = GetNumbers(dataSet, gdcm::Tag(0x0018, 0x0050));
  header.SliceThickness = thickness.empty() ? 0.0 : thickness[0];
  const std::vector<double> slope = GetNumbers(dataSet, gdcm::Tag(0x0028, 0x1053));
  header.RescaleSlope = slope.empty() ? 1.0 : slope[0];
  const std::vector<double> intercept = GetNumbers(dataSet, gdcm::Tag(0x0028, 0x1052));
  header.RescaleIntercept = intercept.empty() ? 0.0 : intercept[0];
  CheckPixelData(fileName, position, syntax, header);
  return true;
}

std::vector<DicomSeriesInfo>
ListDicomSeries(const std::string & directory)
{
  GDCMMessageCapture capture;
  std::vector<std::string> fileNames;
  std::error_code          error;
  for (std::filesystem::directory_iterator entry(directory, error), end; !error && entry != end;
       entry.increment(error))
  {
    if (entry->is_regular_file(error))
    {
      fileNames.push_back(entry->path().string());
    }
  }
  if (error)
  {
    throw DicomSeriesError(directory + ": cannot list the directory: " + error.message());
  }
  std::sort(fileNames.begin(), fileNames.end());

  std::vector<DicomSeriesInfo>  series;
  std::map<std::string, size_t> indexOfUID;
  for (const std::string & fileName : fileNames)
  {
    DicomSliceHeader header;
    if (!ReadDicomSliceHeader(fileName, header) || !header.HasPixelData)
    {
      continue;
    }
    auto found = indexOfUID.find(header.SeriesInstanceUID);
    if (found == indexOfUID.end())
    {
      found = indexOfUID.emplace(header.SeriesInstanceUID, series.size()).first;
      DicomSeriesInfo info;
      info.SeriesInstanceUID = header.SeriesInstanceUID;
      info.Description = header.SeriesDescription;
      info.Modality = header.Modality;
      info.Rows = header.Rows;
      info.Columns = header.Columns;
      series.push_back(info);
    }
    series[found->second].Slices.push_back(std::move(header));
  }
  if (series.empty())
  {
    throw DicomSeriesError(directory + ": no DICOM image in the directory (" + std::to_string(fileNames.size()) +
                           " files)");
  }
  return series;
}

std::string
FormatDicomSeriesList(const std::vector<DicomSeriesInfo> & series)
{
  std::ostringstream text;
  for (const DicomSeriesInfo & info : series)
  {
    unsigned int frames = 0;
    for (const DicomSliceHeader & slice : info.Slices)
    {
      frames += slice.NumberOfFrames;
    }
    text << (info.SeriesInstanceUID.empty() ? std::string("(no series UID)") : info.SeriesInstanceUID) << "  \""
         << info.Description << "\"  " << (info.Modality.empty() ? "?" : info.Modality) << "  " << info.Columns
         << "x" << info.Rows << "x" << frames << "  (" << info.Slices.size()
         << (info.Slices.size() == 1 ? " file)" : " files)") << "\n";
  }
  return text.str();
}

const DicomSeriesInfo &
SelectDicomSeries(const std::string & directory, const std::vector<DicomSeriesInfo> & series, const std::string & seriesUID)
{
  if (seriesUID.empty())
  {
    if (series.size() == 1)
    {
      return series.front();
    }
    throw DicomSeriesError(directory + ": " + std::to_string(series.size()) +
                           " DICOM series in the directory; choose one with --series UID:\n" +
                           FormatDicomSeriesList(series));
  }
  for (const DicomSeriesInfo & info : series)
  {
    if (info.SeriesInstanceUID == seriesUID)
    {
      return info;
    }
  }
  throw DicomSeriesError(directory + ": no DICOM series with UID " + seriesUID + "; the directory holds:\n" +
                         FormatDicomSeriesList(series));
}

/** The spacing of the sorted slices (the median distance between neighbours along the normal), after checking that
 * no two slices share a position, none is missing, the spacing is even and the stack is not sheared; the largest
 * deviation from the median goes to maxDeviation. */
static double
SliceSpacingOf(const std::string &           directory,
               const DicomSeriesInfo &       series,
               const std::vector<size_t> &   order,
               const std::vector<double> &   along,
               const std::array<double, 3> & normal,
               double &                      maxDeviation)
{
  std::vector<double> gaps;
  for (size_t k = 0; k + 1 < order.size(); ++k)
  {
    gaps.push_back(along[order[k + 1]] - along[order[k]]);
  }
  std::vector<double> sortedGaps = gaps;
  std::nth_element(sortedGaps.begin(), sortedGaps.begin() + sortedGaps.size() / 2, sortedGaps.end());
  const double median = sortedGaps[sortedGaps.size() / 2];
  const double tolerance = std::max(0.01 * median, 1e-3);
  for (size_t k = 0; k < gaps.size(); ++k)
  {
    const DicomSliceHeader & a = series.Slices[order[k]];
    const DicomSliceHeader & b = series.Slices[order[k + 1]];
    if (gaps[k] < 1e-3)
    {
      throw DicomSeriesError(directory + ": two slices at the same position (" + BaseName(a.FileName) + ", " +
                             BaseName(b.FileName) + "): several volumes in one series are not supported");
    }
    if (median < 1e-3)
    {
      throw DicomSeriesError(directory + ": most slices share a position: several volumes in one series");
    }
    const double deviation = std::abs(gaps[k] - median);
    maxDeviation = std::max(maxDeviation, deviation);
    if (deviation > tolerance)
    {
      const bool missing = gaps[k] > 1.5 * median;
      throw DicomSeriesError(directory + ": " + (missing ? "missing slice(s)" : "unevenly spaced slices") +
                             " between " + BaseName(a.FileName) + " and " + BaseName(b.FileName) + " (distance " +
                             Millimetres(gaps[k]) + ", spacing elsewhere " + Millimetres(median) + ")");
    }
    std::array<double, 3> step;
    for (unsigned int i = 0; i < 3; ++i)
    {
      step[i] = b.ImagePositionPatient[i] - a.ImagePositionPatient[i] - gaps[k] * normal[i];
    }
    if (std::sqrt(Dot(step, step)) > tolerance)
    {
      throw DicomSeriesError(directory + ": slices " + BaseName(a.FileName) + " and " + BaseName(b.FileName) +
                             " are shifted in-plane by " + Millimetres(std::sqrt(Dot(step, step))) +
                             " (sheared stack, e.g. gantry tilt): not supported");
    }
  }
  return median;
}

DicomSeriesReadInfo
CheckDicomSeries(const std::string & directory, const DicomSeriesInfo & series)
{
  if (series.Slices.empty())
  {
    throw DicomSeriesError(directory + ": DICOM series " + series.SeriesInstanceUID + " has no image");
  }
  const DicomSliceHeader & first = series.Slices.front();
  for (const DicomSliceHeader & slice : series.Slices)
  {
    const std::string name = slice.FileName + ": ";
    if (slice.NumberOfFrames > 1 || IsMultiFrameSOPClass(slice.SOPClassUID))
    {
      throw DicomSeriesError(name + "multi-frame (enhanced) DICOM object with " +
                             std::to_string(slice.NumberOfFrames) +
                             " frames: its per-frame geometry is not supported; convert it to NIfTI (e.g. dcm2niix) "
                             "or to single-frame DICOM first");
    }
    if (slice.SamplesPerPixel != 1)
    {
      throw DicomSeriesError(name + std::to_string(slice.SamplesPerPixel) +
                             " samples per pixel (colour DICOM): only grey-scale images can be segmented");
    }
    if (!slice.PixelDataComplete)
    {
      throw DicomSeriesError(name + "pixel data cut short (the file holds " +
                             std::to_string(slice.PixelDataBytesPresent) + " of " +
                             std::to_string(slice.PixelDataBytesExpected) + " bytes)");
    }
    if (slice.Rows != first.Rows || slice.Columns != first.Columns)
    {
      throw DicomSeriesError(name + "slice size " + std::to_string(slice.Columns) + "x" + std::to_string(slice.Rows) +
                             " differs from " + std::to_string(first.Columns) + "x" + std::to_string(first.Rows) +
                             " of " + BaseName(first.FileName));
    }
    if (slice.Rows == 0 || slice.Columns == 0)
    {
      throw DicomSeriesError(name + "no Rows or Columns in the header");
    }
    for (unsigned int i = 0; i < 2; ++i)
    {
      if (std::abs(slice.PixelSpacing[i] - first.PixelSpacing[i]) > 1e-4 * first.PixelSpacing[i])
      {
        throw DicomSeriesError(name + "pixel spacing differs from that of " + BaseName(first.FileName));
      }
    }
    for (unsigned int i = 0; i < 6; ++i)
    {
      if (slice.HasOrientation != first.HasOrientation ||
          std::abs(slice.ImageOrientationPatient[i] - first.ImageOrientationPatient[i]) > 1e-4)
      {
        throw DicomSeriesError(name + "slice orientation differs from that of " + BaseName(first.FileName));
      }
    }
    if (series.Slices.size() > 1 && !slice.HasPosition)
    {
      throw DicomSeriesError(name + "no Image Position (Patient): the slices cannot be ordered");
    }
  }

  const std::array<double, 6> & iop = first.ImageOrientationPatient;
  const std::array<double, 3>   row{ { iop[0], iop[1], iop[2] } };
  const std::array<double, 3>   column{ { iop[3], iop[4], iop[5] } };
  std::array<double, 3>         normal = Cross(row, column);
  const double                  normalLength = std::sqrt(Dot(normal, normal));
  if (normalLength < 0.5)
  {
    throw DicomSeriesError(first.FileName + ": invalid Image Orientation (Patient)");
  }
  for (double & c : normal)
  {
    c /= normalLength;
  }

  DicomSeriesReadInfo info;
  info.Directory = directory;
  info.SeriesInstanceUID = series.SeriesInstanceUID;
  info.Description = series.Description;
  info.TransferSyntaxUID = first.TransferSyntaxUID;
  info.NumberOfSlices = series.Slices.size();
  info.RescaleSlope = first.RescaleSlope;
  info.RescaleIntercept = first.RescaleIntercept;
  for (double c : iop)
  {
    if (std::abs(c) > 1e-6 && std::abs(std::abs(c) - 1.0) > 1e-6)
    {
      info.Oblique = true;
    }
  }

  std::vector<size_t> order(series.Slices.size());
  std::iota(order.begin(), order.end(), size_t{ 0 });
  std::vector<double> along(series.Slices.size());
  for (size_t i = 0; i < along.size(); ++i)
  {
    along[i] = Dot(normal, series.Slices[i].ImagePositionPatient);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return along[a] < along[b]; });
  for (size_t index : order)
  {
    info.SortedFileNames.push_back(series.Slices[index].FileName);
  }

  if (order.size() == 1)
  {
    info.SliceSpacing = first.SliceThickness > 0.0 ? first.SliceThickness : 1.0;
    return info;
  }
  info.SliceSpacing = SliceSpacingOf(directory, series, order, along, normal, info.MaxSpacingDeviation);
  return info;
}

DicomImageType::Pointer
ReadDicomSeries(const std::string &           directory,
                const std::string &           seriesUID,
                DicomSeriesReadInfo *         infoOut,
                const DicomProgressCallback & progress)
{
  const std::vector<DicomSeriesInfo> series = ListDicomSeries(directory);
  const DicomSeriesInfo &            selected = SelectDicomSeries(directory, series, seriesUID);
  DicomSeriesReadInfo                info = CheckDicomSeries(directory, selected);

  using ReaderType = itk::ImageSeriesReader<DicomImageType>;
  auto reader = ReaderType::New();
  auto io = itk::GDCMImageIO::New();
  reader->SetImageIO(io);
  reader->SetFileNames(info.SortedFileNames);
  GDCMMessageCapture capture;
  if (progress)
  {
    reader->AddObserver(itk::ProgressEvent(), [&](const itk::EventObject &) { progress(reader->GetProgress()); });
  }
  try
  {
    reader->Update();
  }
  catch (const itk::ExceptionObject & exception)
  {
    std::string description = exception.GetDescription();
    std::replace(description.begin(), description.end(), '\n', ' ');
    throw DicomSeriesError(directory + ": cannot read DICOM series " + info.SeriesInstanceUID + ": " +
                           Trim(description));
  }
  if (!capture.Incomplete().empty())
  {
    throw DicomSeriesError(directory + ": pixel data cut short in DICOM series " + info.SeriesInstanceUID +
                           " (GDCM: " + capture.Incomplete() + ")");
  }
  DicomImageType::Pointer image = reader->GetOutput();
  image->DisconnectPipeline();
  if (image->GetLargestPossibleRegion().GetSize(2) != info.SortedFileNames.size())
  {
    throw DicomSeriesError(directory + ": the reader returned " +
                           std::to_string(image->GetLargestPossibleRegion().GetSize(2)) + " slices instead of " +
                           std::to_string(info.SortedFileNames.size()));
  }

  // Geometry from the slice headers: first slice along the normal, row and column directions, the normal.
  DicomSliceHeader first;
  ReadDicomSliceHeader(info.SortedFileNames.front(), first);
  const std::array<double, 6> & iop = first.ImageOrientationPatient;
  const std::array<double, 3>   row{ { iop[0], iop[1], iop[2] } };
  const std::array<double, 3>   column{ { iop[3], iop[4], iop[5] } };
  std::array<double, 3>         normal = Cross(row, column);
  const double                  normalLength = std::sqrt(Dot(normal, normal));
  DicomImageType::DirectionType direction;
  DicomImageType::SpacingType   spacing;
  DicomImageType::PointType     origin;
  for (unsigned int i = 0; i < 3; ++i)
  {
    direction(i, 0) = row[i];
    direction(i, 1) = column[i];
    direction(i, 2) = normal[i] / normalLength;
    origin[i] = first.ImagePositionPatient[i];
  }
  spacing[0] = first.PixelSpacing[1];
  spacing[1] = first.PixelSpacing[0];
  spacing[2] = info.SliceSpacing;
  image->SetDirection(direction);
  image->SetSpacing(spacing);
  if (first.HasPosition)
  {
    image->SetOrigin(origin);
  }
  if (infoOut != nullptr)
  {
    *infoOut = std::move(info);
  }
  return image;
}

void
CheckSingleDicomFile(const std::string & fileName)
{
  const auto endsWith = [&fileName](const std::string & suffix) {
    return fileName.size() >= suffix.size() && fileName.compare(fileName.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  for (const char * image : { ".img", ".img.gz" })
  {
    const std::string stem = endsWith(image) ? fileName.substr(0, fileName.size() - std::strlen(image)) : "";
    if (!stem.empty() && (std::filesystem::exists(stem + ".hdr") || std::filesystem::exists(stem + ".hdr.gz")))
    {
      return; // the pixel data of an Analyze or NIfTI pair, which may start like a DICOM data set (zeros)
    }
  }
  std::error_code error;
  const auto      size = std::filesystem::file_size(fileName, error);
  if (!error && size > 0 && size < 8)
  {
    // ITK would hand it to GDCM, which reads its first eight bytes unchecked and then asserts (found by fuzzing).
    throw FileError(fileName, "only " + std::to_string(size) + " bytes: too short for an image file");
  }
  GDCMMessageCapture capture;
  DicomSliceHeader   header;
  if (!ReadDicomSliceHeader(fileName, header) || !header.HasPixelData)
  {
    return;
  }
  DicomSeriesInfo series;
  series.SeriesInstanceUID = header.SeriesInstanceUID;
  series.Slices.push_back(header);
  CheckDicomSeries(fileName, series);
}

} // namespace kmeans_cli

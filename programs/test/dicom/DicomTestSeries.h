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
#ifndef KMeansCLI_DicomTestSeries_h
#define KMeansCLI_DicomTestSeries_h

// Writes synthetic DICOM series with ITK's GDCM writer for the tests.
#include "itkGDCMImageIO.h"
#include "itkImage.h"
#include "itkImageRegionIteratorWithIndex.h"
#include "itkImageFileWriter.h"
#include "itkMetaDataObject.h"

#include "gdcmAttribute.h"
#include "gdcmReader.h"
#include "gdcmWriter.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <filesystem>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace KMeansDicomTest
{
using VolumeType = itk::Image<float, 3>;
using SliceType = itk::Image<short, 2>;

/** The stored integer at a voxel; the real value is Stored() * slope + intercept. */
inline int
Stored(const VolumeType::IndexType & index)
{
  return static_cast<int>((index[0] * 7 + index[1] * 3 + index[2] * 11) % 200);
}

struct SeriesSpec
{
  VolumeType::SizeType      Size{ { 20, 16, 12 } };
  VolumeType::SpacingType   Spacing;
  VolumeType::DirectionType Direction;
  VolumeType::PointType     Origin;
  double                    Slope{ 1.0 };
  double                    Intercept{ 0.0 };
  std::string               SeriesUID{ "1.2.826.0.1.3680043.2.1125.1.1" };
  std::string               Description{ "synthetic T1" };
  std::string               FilePrefix{ "slice" };
  std::set<unsigned int>    SkipSlices;
  unsigned int              FirstInstance{ 0 };
  bool                      Shuffle{ true };

  SeriesSpec()
  {
    Spacing[0] = 0.9;
    Spacing[1] = 0.8;
    Spacing[2] = 1.5;
    Direction.SetIdentity();
    Origin.Fill(0.0);
  }
};

/** A rotation of 20 degrees about (1, 2, 3): an oblique orientation. */
inline VolumeType::DirectionType
ObliqueDirection()
{
  const double angle = 20.0 * 3.14159265358979323846 / 180.0;
  double       axis[3] = { 1.0, 2.0, 3.0 };
  const double norm = std::sqrt(14.0);
  for (double & a : axis)
  {
    a /= norm;
  }
  const double              c = std::cos(angle), s = std::sin(angle), t = 1.0 - c;
  VolumeType::DirectionType d;
  d(0, 0) = t * axis[0] * axis[0] + c;
  d(0, 1) = t * axis[0] * axis[1] - s * axis[2];
  d(0, 2) = t * axis[0] * axis[2] + s * axis[1];
  d(1, 0) = t * axis[0] * axis[1] + s * axis[2];
  d(1, 1) = t * axis[1] * axis[1] + c;
  d(1, 2) = t * axis[1] * axis[2] - s * axis[0];
  d(2, 0) = t * axis[0] * axis[2] - s * axis[1];
  d(2, 1) = t * axis[1] * axis[2] + s * axis[0];
  d(2, 2) = t * axis[2] * axis[2] + c;
  return d;
}

inline VolumeType::Pointer
MakeVolume(const SeriesSpec & spec)
{
  auto image = VolumeType::New();
  image->SetRegions(spec.Size);
  image->SetSpacing(spec.Spacing);
  image->SetDirection(spec.Direction);
  image->SetOrigin(spec.Origin);
  image->Allocate();
  for (itk::ImageRegionIteratorWithIndex<VolumeType> it(image, image->GetLargestPossibleRegion()); !it.IsAtEnd(); ++it)
  {
    it.Set(static_cast<float>(Stored(it.GetIndex()) * spec.Slope + spec.Intercept));
  }
  return image;
}

inline std::string
Numbers(const std::vector<double> & values)
{
  std::ostringstream text;
  text.precision(10);
  for (size_t i = 0; i < values.size(); ++i)
  {
    text << (i ? "\\" : "") << values[i];
  }
  return text.str();
}

/** Adds Rescale Slope and Intercept to a file as a scanner does (ITK's writer would rescale the pixels). */
inline void
AddRescale(const std::string & fileName, double slope, double intercept)
{
  gdcm::Reader reader;
  reader.SetFileName(fileName.c_str());
  if (!reader.Read())
  {
    throw std::runtime_error("cannot re-read " + fileName);
  }
  gdcm::DataSet &                 dataSet = reader.GetFile().GetDataSet();
  gdcm::Attribute<0x0028, 0x1053> slopeAttribute = { slope };
  gdcm::Attribute<0x0028, 0x1052> interceptAttribute = { intercept };
  dataSet.Replace(slopeAttribute.GetAsDataElement());
  dataSet.Replace(interceptAttribute.GetAsDataElement());
  gdcm::Writer writer;
  writer.SetFile(reader.GetFile());
  writer.SetFileName(fileName.c_str());
  if (!writer.Write())
  {
    throw std::runtime_error("cannot rewrite " + fileName);
  }
}

/** Writes \a spec as one file per slice into \a directory; returns the file names in slice order. */
inline std::vector<std::string>
WriteSeries(const std::string & directory, const SeriesSpec & spec)
{
  std::filesystem::create_directories(directory);
  VolumeType::Pointer volume = MakeVolume(spec);
  const unsigned int  slices = static_cast<unsigned int>(spec.Size[2]);

  std::vector<unsigned int> numbers(slices);
  std::iota(numbers.begin(), numbers.end(), 0u);
  if (spec.Shuffle)
  {
    std::mt19937 random(42);
    std::shuffle(numbers.begin(), numbers.end(), random);
  }
  std::vector<std::string> written;
  for (unsigned int k = 0; k < slices; ++k)
  {
    if (spec.SkipSlices.count(k) != 0)
    {
      continue;
    }
    auto slice = SliceType::New();
    SliceType::SizeType sliceSize = { { spec.Size[0], spec.Size[1] } };
    slice->SetRegions(sliceSize);
    SliceType::SpacingType sliceSpacing;
    sliceSpacing[0] = spec.Spacing[0];
    sliceSpacing[1] = spec.Spacing[1];
    slice->SetSpacing(sliceSpacing);
    slice->Allocate();
    for (itk::ImageRegionIteratorWithIndex<SliceType> it(slice, slice->GetLargestPossibleRegion()); !it.IsAtEnd();
         ++it)
    {
      it.Set(static_cast<short>(Stored({ { it.GetIndex()[0], it.GetIndex()[1], static_cast<itk::IndexValueType>(k) } })));
    }
    VolumeType::PointType position;
    volume->TransformIndexToPhysicalPoint({ { 0, 0, static_cast<itk::IndexValueType>(k) } }, position);
    const VolumeType::DirectionType & d = spec.Direction;

    auto io = itk::GDCMImageIO::New();
    io->KeepOriginalUIDOn();
    itk::MetaDataDictionary & dictionary = io->GetMetaDataDictionary();
    auto set = [&](const std::string & key, const std::string & value) {
      itk::EncapsulateMetaData<std::string>(dictionary, key, value);
    };
    set("0008|0016", "1.2.840.10008.5.1.4.1.1.4");
    set("0008|0018", spec.SeriesUID + "." + std::to_string(spec.FirstInstance + k + 1));
    set("0008|0060", "MR");
    set("0008|103e", spec.Description);
    set("0020|000d", "1.2.826.0.1.3680043.2.1125.1");
    set("0020|000e", spec.SeriesUID);
    set("0020|0013", std::to_string(spec.FirstInstance + k + 1));
    set("0020|0032", Numbers({ position[0], position[1], position[2] }));
    set("0020|0037", Numbers({ d(0, 0), d(1, 0), d(2, 0), d(0, 1), d(1, 1), d(2, 1) }));
    set("0028|0030", Numbers({ spec.Spacing[1], spec.Spacing[0] }));
    set("0018|0050", Numbers({ spec.Spacing[2] }));

    using WriterType = itk::ImageFileWriter<SliceType>;
    auto writer = WriterType::New();
    std::ostringstream name;
    name << directory << "/" << spec.FilePrefix << "_" << std::setw(3) << std::setfill('0') << numbers[k] << ".dcm";
    writer->SetFileName(name.str());
    writer->SetInput(slice);
    writer->SetImageIO(io);
    writer->UseInputMetaDataDictionaryOff();
    writer->Update();
    if (spec.Slope != 1.0 || spec.Intercept != 0.0)
    {
      AddRescale(name.str(), spec.Slope, spec.Intercept);
    }
    written.push_back(name.str());
  }
  return written;
}
} // namespace KMeansDicomTest

#endif

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
#include "DicomTestSeries.h"
#include "KMeansTestData.h"

#include "itkImageFileWriter.h"
#include "itkMinimumMaximumImageCalculator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

namespace
{
using namespace KMeansDicomTest;
namespace fs = std::filesystem;

std::string
FreshDirectory(const std::string & name)
{
  const fs::path path = KMeansTest::ProcessDirectory() / "dicom" / name;
  fs::remove_all(path);
  fs::create_directories(path);
  return path.string();
}

std::string
ErrorOf(const std::string & directory, const std::string & uid = {})
{
  try
  {
    kmeans_cli::ReadDicomSeries(directory, uid);
  }
  catch (const kmeans_cli::DicomSeriesError & error)
  {
    return error.what();
  }
  return {};
}

TEST(DicomSeries, ShuffledObliqueRescaledSeriesIsSortedAlongTheNormal)
{
  SeriesSpec spec;
  spec.Direction = ObliqueDirection();
  spec.Origin[0] = -12.5;
  spec.Origin[1] = 30.0;
  spec.Origin[2] = 7.25;
  spec.Slope = 2.5;
  spec.Intercept = -100.0;
  const std::string directory = FreshDirectory("oblique");
  WriteSeries(directory, spec);

  kmeans_cli::DicomSeriesReadInfo info;
  auto image = kmeans_cli::ReadDicomSeries(directory, "", &info);
  ASSERT_EQ(image->GetLargestPossibleRegion().GetSize(), spec.Size);
  EXPECT_TRUE(info.Oblique);
  EXPECT_EQ(info.NumberOfSlices, spec.Size[2]);
  EXPECT_NEAR(info.RescaleSlope, 2.5, 1e-9);
  for (unsigned int i = 0; i < 3; ++i)
  {
    EXPECT_NEAR(image->GetSpacing()[i], spec.Spacing[i], 1e-4) << i;
    EXPECT_NEAR(image->GetOrigin()[i], spec.Origin[i], 1e-3) << i;
    for (unsigned int j = 0; j < 3; ++j)
    {
      EXPECT_NEAR(image->GetDirection()(i, j), spec.Direction(i, j), 1e-5) << i << "," << j;
    }
  }
  size_t mismatches = 0;
  for (itk::ImageRegionConstIteratorWithIndex<VolumeType> it(image, image->GetLargestPossibleRegion()); !it.IsAtEnd();
       ++it)
  {
    const double expected = Stored(it.GetIndex()) * 2.5 - 100.0;
    mismatches += std::abs(it.Get() - expected) > 1e-3;
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(DicomSeries, ReversedNormalStillGivesAscendingSlices)
{
  SeriesSpec spec;
  spec.Direction(2, 2) = -1.0; // slices stacked against the row x column normal
  spec.Direction(1, 1) = -1.0;
  const std::string directory = FreshDirectory("reversed");
  WriteSeries(directory, spec);
  auto image = kmeans_cli::ReadDicomSeries(directory, "");
  // Whatever the storage order, physical positions of voxel values must be preserved.
  auto expected = MakeVolume(spec);
  for (itk::IndexValueType k : { 0, 5, 11 })
  {
    VolumeType::PointType point;
    expected->TransformIndexToPhysicalPoint({ { 3, 4, k } }, point);
    VolumeType::IndexType index;
    ASSERT_TRUE(image->TransformPhysicalPointToIndex(point, index)) << point;
    EXPECT_NEAR(image->GetPixel(index), expected->GetPixel({ { 3, 4, k } }), 1e-3) << k;
  }
  EXPECT_GT(image->GetSpacing()[2], 0.0);
}

TEST(DicomSeries, MissingSliceIsRefused)
{
  SeriesSpec spec;
  spec.SkipSlices = { 5 };
  const std::string directory = FreshDirectory("gap");
  WriteSeries(directory, spec);
  const std::string error = ErrorOf(directory);
  EXPECT_NE(error.find("missing slice"), std::string::npos) << error;
  EXPECT_NE(error.find(directory), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
}

TEST(DicomSeries, TruncatedFileIsRefused)
{
  SeriesSpec        spec;
  const std::string directory = FreshDirectory("truncated");
  const auto        files = WriteSeries(directory, spec);
  const std::string victim = files[4];
  fs::resize_file(victim, fs::file_size(victim) - 100);
  const std::string error = ErrorOf(directory);
  EXPECT_NE(error.find("cut short"), std::string::npos) << error;
  EXPECT_NE(error.find(victim), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
}

TEST(DicomSeries, SlicesOfDifferentSizesAreRefused)
{
  SeriesSpec first;
  first.Size[2] = 6;
  first.Shuffle = false;
  SeriesSpec second = first;
  second.Size[1] = 18;
  second.FilePrefix = "other";
  second.FirstInstance = 6;
  second.Origin[2] = 6 * first.Spacing[2];
  const std::string directory = FreshDirectory("sizes");
  WriteSeries(directory, first);
  WriteSeries(directory, second);
  const std::string error = ErrorOf(directory);
  EXPECT_TRUE(error.find("slice size 20x18 differs from 20x16") != std::string::npos ||
              error.find("slice size 20x16 differs from 20x18") != std::string::npos)
    << error;
}

TEST(DicomSeries, SlicesOfDifferentOrientationsAreRefused)
{
  SeriesSpec first;
  first.Size[2] = 6;
  SeriesSpec second = first;
  second.Direction = ObliqueDirection();
  second.FilePrefix = "other";
  second.FirstInstance = 6;
  second.Origin[2] = 6 * first.Spacing[2];
  const std::string directory = FreshDirectory("orientations");
  WriteSeries(directory, first);
  WriteSeries(directory, second);
  const std::string error = ErrorOf(directory);
  EXPECT_NE(error.find("orientation differs"), std::string::npos) << error;
}

TEST(DicomSeries, TwoSeriesNeedAChoice)
{
  SeriesSpec first;
  SeriesSpec second;
  second.SeriesUID = "1.2.826.0.1.3680043.2.1125.1.2";
  second.Description = "second series";
  second.Size[2] = 7;
  second.FilePrefix = "b";
  const std::string directory = FreshDirectory("two");
  WriteSeries(directory, first);
  WriteSeries(directory, second);

  const auto series = kmeans_cli::ListDicomSeries(directory);
  ASSERT_EQ(series.size(), 2u);
  const std::string list = kmeans_cli::FormatDicomSeriesList(series);
  EXPECT_NE(list.find(first.SeriesUID + "  \"synthetic T1\"  MR  20x16x12"), std::string::npos) << list;
  EXPECT_NE(list.find(second.SeriesUID + "  \"second series\"  MR  20x16x7"), std::string::npos) << list;

  const std::string error = ErrorOf(directory);
  EXPECT_NE(error.find("2 DICOM series"), std::string::npos) << error;
  EXPECT_NE(error.find(second.SeriesUID), std::string::npos) << error;
  EXPECT_NE(ErrorOf(directory, "1.2.3.4").find("no DICOM series with UID 1.2.3.4"), std::string::npos);

  auto image = kmeans_cli::ReadDicomSeries(directory, second.SeriesUID);
  EXPECT_EQ(image->GetLargestPossibleRegion().GetSize(2), 7u);
}

TEST(DicomSeries, MultiFrameObjectIsRefused)
{
  SeriesSpec        spec;
  const std::string directory = FreshDirectory("multiframe");
  using ShortVolume = itk::Image<short, 3>;
  auto volume = ShortVolume::New();
  volume->SetRegions(spec.Size);
  volume->Allocate();
  volume->FillBuffer(7);
  auto io = itk::GDCMImageIO::New();
  itk::EncapsulateMetaData<std::string>(io->GetMetaDataDictionary(), "0008|0060", "MR");
  itk::EncapsulateMetaData<std::string>(io->GetMetaDataDictionary(), "0008|0016", "1.2.840.10008.5.1.4.1.1.4.1");
  auto writer = itk::ImageFileWriter<ShortVolume>::New();
  writer->UseInputMetaDataDictionaryOff();
  writer->SetInput(volume);
  writer->SetImageIO(io);
  const std::string file = directory + "/volume.dcm";
  writer->SetFileName(file);
  writer->Update();
  try
  {
    kmeans_cli::CheckSingleDicomFile(file);
    FAIL() << "a multi-frame file was accepted";
  }
  catch (const kmeans_cli::DicomSeriesError & error)
  {
    EXPECT_NE(std::string(error.what()).find("multi-frame"), std::string::npos) << error.what();
  }
  EXPECT_NE(ErrorOf(directory).find("multi-frame"), std::string::npos);
}

TEST(DicomSeries, NoDicomInDirectory)
{
  const std::string directory = FreshDirectory("empty");
  std::ofstream(directory + "/notes.txt") << "not an image\n";
  EXPECT_NE(ErrorOf(directory).find("no DICOM image"), std::string::npos);
}

TEST(DicomSeries, RealPhilipsSeries)
{
  const std::string directory = KMeansTest::DataFile("dicom/philips-mprage-sag");
  if (directory.empty())
  {
    GTEST_SKIP() << KMeansTest::MissingDataMessage("dicom/philips-mprage-sag");
  }
  kmeans_cli::DicomSeriesReadInfo info;
  const auto                     start = std::chrono::steady_clock::now();
  auto                           image = kmeans_cli::ReadDicomSeries(directory, "", &info);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto   size = image->GetLargestPossibleRegion().GetSize();
  EXPECT_EQ(size[0], 256u);
  EXPECT_EQ(size[1], 256u);
  EXPECT_EQ(size[2], 170u);
  EXPECT_TRUE(info.Oblique);
  EXPECT_NEAR(info.RescaleSlope, 2.36166, 1e-4);
  for (unsigned int i = 0; i < 3; ++i)
  {
    EXPECT_NEAR(image->GetSpacing()[i], 1.0, 0.01) << i;
  }
  const auto & d = image->GetDirection();
  // Sagittal: the slice normal is mostly left-right (x in LPS), tilted by a few degrees.
  EXPECT_GT(std::abs(d(0, 2)), 0.99);
  EXPECT_GT(std::abs(d(1, 2)) + std::abs(d(2, 2)), 0.01);
  auto calculator = itk::MinimumMaximumImageCalculator<VolumeType>::New();
  calculator->SetImage(image);
  calculator->Compute();
  EXPECT_GE(calculator->GetMinimum(), 0.0f);
  EXPECT_GT(calculator->GetMaximum(), 500.0f);
  // Stored integers times the slope: the maximum is a multiple of 2.36166.
  const double stored = calculator->GetMaximum() / info.RescaleSlope;
  EXPECT_NEAR(stored, std::round(stored), 1e-2);
  std::cout << "philips-mprage-sag: " << size << " spacing " << image->GetSpacing() << " origin " << image->GetOrigin()
            << " normal (" << d(0, 2) << ", " << d(1, 2) << ", " << d(2, 2) << ") range [" << calculator->GetMinimum()
            << ", " << calculator->GetMaximum() << "] max spacing deviation " << info.MaxSpacingDeviation
            << " mm, read in " << seconds << " s" << std::endl;
}
} // namespace

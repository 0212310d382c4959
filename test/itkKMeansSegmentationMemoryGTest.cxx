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
// Huge-page advice for large image buffers (itkKMeansSegmentationMemory.h): the kernel records it for big
// buffers and not for small ones; the label map the filter fills is advised.

#include "itkKMeansSegmentationImageFilter.h"
#include "itkKMeansSegmentationMemory.h"

#include "gtest/gtest.h"

#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace
{
bool
TransparentHugePagesAvailable()
{
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string   modes;
  std::getline(in, modes);
  return !modes.empty() && modes.find("[never]") == std::string::npos;
}

/** The kernel's flags (VmFlags in /proc/self/smaps) of the mapping that holds address; "" if none. */
std::string
MappingFlags(const void * address)
{
  const auto    a = reinterpret_cast<std::uintptr_t>(address);
  std::ifstream smaps("/proc/self/smaps");
  bool          inside = false;
  for (std::string line; std::getline(smaps, line);)
  {
    std::uintptr_t begin = 0, end = 0;
    char           dash = 0;
    std::istringstream header(line);
    if (header >> std::hex >> begin >> dash >> end && dash == '-')
    {
      inside = begin <= a && a < end;
    }
    else if (inside && line.compare(0, 8, "VmFlags:") == 0)
    {
      return line.substr(8);
    }
  }
  return {};
}

bool
AdvisedHugePages(const void * address)
{
  return MappingFlags(address).find(" hg") != std::string::npos;
}
} // namespace

TEST(KMeansSegmentationMemory, LargeBuffersAreAdvisedSmallOnesAreNot)
{
  if (!TransparentHugePagesAvailable())
  {
    GTEST_SKIP() << "this system has no transparent huge pages (/sys/kernel/mm/transparent_hugepage/enabled)";
  }
  constexpr std::size_t large = 16u << 20;
  const auto            big = std::make_unique<char[]>(large);
  ASSERT_FALSE(AdvisedHugePages(big.get() + large / 2)) << MappingFlags(big.get());
  itk::KMeansSegmentationMemory::AdviseHugePages(big.get(), large);
  EXPECT_TRUE(AdvisedHugePages(big.get() + large / 2)) << MappingFlags(big.get() + large / 2);

  // Under the threshold: left alone (a 1 MiB buffer of its own mapping, as malloc gives it).
  constexpr std::size_t small = 1u << 20;
  const auto            little = std::make_unique<char[]>(small);
  itk::KMeansSegmentationMemory::AdviseHugePages(little.get(), small);
  EXPECT_FALSE(AdvisedHugePages(little.get() + small / 2)) << MappingFlags(little.get() + small / 2);

  // Null and empty buffers are ignored.
  itk::KMeansSegmentationMemory::AdviseHugePages(nullptr, large);
  itk::KMeansSegmentationMemory::AdviseHugePages(big.get(), 0);
}

TEST(KMeansSegmentationMemory, TheFilterAdvisesItsLabelMap)
{
  if (!TransparentHugePagesAvailable())
  {
    GTEST_SKIP() << "this system has no transparent huge pages (/sys/kernel/mm/transparent_hugepage/enabled)";
  }
  using ImageType = itk::Image<short, 3>;
  using LabelType = itk::Image<unsigned char, 3>;
  auto                  image = ImageType::New();
  ImageType::RegionType region;
  region.SetSize({ { 256, 256, 128 } }); // an 8 MiB label map
  image->SetRegions(region);
  image->Allocate();
  short * p = image->GetBufferPointer();
  for (std::size_t i = 0; i < region.GetNumberOfPixels(); ++i)
  {
    p[i] = static_cast<short>((i * 7919) % 1000);
  }
  auto filter = itk::KMeansSegmentationImageFilter<ImageType, LabelType>::New();
  filter->SetInput(image);
  filter->SetNumberOfClasses(3);
  filter->Update();
  const LabelType * labels = filter->GetOutput();
  EXPECT_TRUE(AdvisedHugePages(labels->GetBufferPointer() + region.GetNumberOfPixels() / 2))
    << MappingFlags(labels->GetBufferPointer() + region.GetNumberOfPixels() / 2);
}

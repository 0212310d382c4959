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
// libFuzzer harness: kmeans-segment's input path on mutated files. The first byte picks the format (NIfTI,
// gzipped NIfTI, NRRD, MetaImage, a DICOM file, a DICOM series directory of two files); the rest is the file
// (for .nii.gz, its content before compression). Every input must end in a clean error (an exception the
// program prints as one line) or an image of the size the header announced, within the time and memory
// limits scripts/fuzz gives (-timeout, -rss_limit_mb, -malloc_limit_mb: an input that claims a huge image
// must be refused before anything large is allocated).
//
// `kmeans-fuzz-input --write-seeds=DIR` writes the seed corpus (small images written by ITK in each format).
#include "cli/inputs/ImageInput.h"
#include "cli/options/Options.h"
#include "cli/outputs/Report.h"
#include "cli/run/ScanPipeline.h"

#include "itkImageFileWriter.h"
#include "itkImageSeriesWriter.h"
#include "itkMultiThreaderBase.h"

#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <unistd.h>

namespace
{
namespace fs = std::filesystem;

const char * const Extensions[] = { ".nii", ".nii.gz", ".nrrd", ".mha", ".dcm", "" };
constexpr int      NumberOfFormats = 6;

fs::path
WorkDirectory()
{
  static const fs::path directory = [] {
    const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    const fs::path made = base / ("kmeans-fuzz-input-" + std::to_string(getpid()));
    fs::create_directories(made);
    return made;
  }();
  return directory;
}

void
WriteBytes(const fs::path & path, const uint8_t * bytes, size_t size, bool gzip)
{
  if (gzip)
  {
    gzFile file = gzopen(path.c_str(), "wb1");
    gzwrite(file, bytes, static_cast<unsigned int>(size));
    gzclose(file);
    return;
  }
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char *>(bytes), static_cast<std::streamsize>(size));
}

/** The path the program is given: a file, or for a series a directory holding the payload split in two. */
std::string
WriteInput(int format, const uint8_t * bytes, size_t size)
{
  const fs::path directory = WorkDirectory();
  fs::remove_all(directory / "series");
  if (format == 5)
  {
    fs::create_directory(directory / "series");
    const size_t half = size / 2;
    WriteBytes(directory / "series" / "1.dcm", bytes, half, false);
    WriteBytes(directory / "series" / "2.dcm", bytes + half, size - half, false);
    return (directory / "series").string();
  }
  const fs::path path = directory / (std::string("input") + Extensions[format]);
  WriteBytes(path, bytes, size, format == 1);
  return path.string();
}

/** Pixel data the harness reads at most (16 MiB): a compressed input of a few KB may rightly hold a much larger
 * image of zeros, whose reading is the same code as for a small one and would only slow the fuzzing down. Claims
 * larger than that are still probed (header, completeness and DICOM checks, under -malloc_limit_mb). */
constexpr double MaximumPixelBytesRead = 16.0 * (1 << 20);

/** What the program does with INPUT before segmenting it: probe (header, completeness, DICOM checks), then
 * read the pixels with the file's own type. */
void
ReadLikeTheProgram(const std::string & path)
{
  kmeans_cli::Options   options;
  kmeans_cli::Report    report;
  kmeans_cli::ImageInfo info = kmeans_cli::ProbeScanInput(path, options);
  double                pixelBytes = 8.0 * info.NumberOfComponents;
  for (const auto size : info.Size)
  {
    pixelBytes *= static_cast<double>(size);
  }
  if (pixelBytes > MaximumPixelBytesRead)
  {
    return;
  }
  kmeans_cli::DispatchScalarImage(info, [&](auto tag) {
    using Tag = decltype(tag);
    auto image = kmeans_cli::ReadScanInput<typename Tag::PixelType, Tag::Dimension>(options, info, report);
    const auto size = image->GetLargestPossibleRegion().GetSize();
    for (unsigned int d = 0; d < Tag::Dimension; ++d)
    {
      if (size[d] != info.Size[d])
      {
        std::fprintf(stderr, "kmeans fuzz: read size %lu differs from the probed size %lu\n",
                     static_cast<unsigned long>(size[d]), static_cast<unsigned long>(info.Size[d]));
        std::abort();
      }
    }
  });
}

/** Seeds: small images written by ITK in every format the harness feeds, with the format byte in front. */
void
WriteSeeds(const fs::path & directory)
{
  fs::create_directories(directory);
  using ImageType = itk::Image<short, 3>;
  auto image = ImageType::New();
  image->SetRegions(ImageType::SizeType{ { 5, 4, 3 } });
  image->Allocate();
  for (itk::SizeValueType i = 0; i < image->GetPixelContainer()->Size(); ++i)
  {
    image->GetBufferPointer()[i] = static_cast<short>(100 * (i % 3) + i % 7);
  }
  ImageType::SpacingType spacing;
  spacing[0] = 0.9;
  spacing[1] = 1.1;
  spacing[2] = 2.5;
  image->SetSpacing(spacing);
  const fs::path work = WorkDirectory();
  auto           seed = [&](int format, const fs::path & file, const std::string & name) {
    std::ifstream      in(file, std::ios::binary);
    std::ostringstream content;
    content << static_cast<char>(format) << in.rdbuf();
    std::ofstream(directory / name, std::ios::binary) << content.str();
  };
  auto write = [&](const std::string & name, bool compress) {
    auto writer = itk::ImageFileWriter<ImageType>::New();
    writer->SetInput(image);
    writer->SetFileName((work / name).string());
    writer->SetUseCompression(compress);
    writer->Update();
    return work / name;
  };
  seed(0, write("seed.nii", false), "nifti");
  seed(1, write("seed.nii", false), "nifti-gz");
  seed(2, write("seed.nrrd", false), "nrrd-raw");
  seed(2, write("seedz.nrrd", true), "nrrd-gzip");
  seed(3, write("seed.mha", false), "metaimage");
  seed(3, write("seedz.mha", true), "metaimage-compressed");
  using SliceType = itk::Image<short, 2>;
  auto slices = itk::ImageSeriesWriter<ImageType, SliceType>::New();
  slices->SetInput(image);
  slices->SetFileNames({ (work / "slice0.dcm").string(), (work / "slice1.dcm").string(), (work / "slice2.dcm").string() });
  slices->Update();
  seed(4, work / "slice0.dcm", "dicom");
  {
    std::ifstream      a(work / "slice0.dcm", std::ios::binary), b(work / "slice1.dcm", std::ios::binary);
    std::ostringstream both;
    both << static_cast<char>(5) << a.rdbuf() << b.rdbuf();
    std::ofstream(directory / "dicom-series", std::ios::binary) << both.str();
  }
}
} // namespace

extern "C" int
LLVMFuzzerInitialize(int * argc, char *** argv)
{
  itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(1);
  for (int i = 1; i < *argc; ++i)
  {
    const std::string argument = (*argv)[i];
    if (argument.rfind("--write-seeds=", 0) == 0)
    {
      WriteSeeds(argument.substr(14));
      fs::remove_all(WorkDirectory());
      std::exit(0);
    }
  }
  WorkDirectory(); // made now, so that it is still there when the function below runs at exit
  std::atexit([] {
    std::error_code ignored;
    fs::remove_all(WorkDirectory(), ignored);
  });
  return 0;
}

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * bytes, size_t size)
{
  if (size < 1)
  {
    return 0;
  }
  const int         format = bytes[0] % NumberOfFormats;
  const std::string path = WriteInput(format, bytes + 1, size - 1);
  try
  {
    ReadLikeTheProgram(path);
  }
  catch (const std::exception &)
  {
    // A clean error: the program prints it as one line and exits with status 1.
  }
  return 0;
}

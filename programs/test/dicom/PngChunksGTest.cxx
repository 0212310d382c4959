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
// The chunk walk that guards libpng against damaged PNG files (cli/inputs/PngChunks.h): PNG files made here byte by
// byte and written by ITK pass (and ITK reads them), each kind of damage that makes libpng stop in png_read_info is
// refused with a one-line error naming the file, the chunk and its byte offset, also through the program's probe.
#include "cli/inputs/ImageInput.h"
#include "cli/inputs/PngChunks.h"
#include "cli/run/ErrorReporting.h"

#include "itkImage.h"
#include "itkImageFileWriter.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace
{
namespace fs = std::filesystem;
using Bytes = std::vector<unsigned char>;

std::string
WritePngFile(const std::string & name, const Bytes & bytes)
{
  const fs::path directory = fs::current_path() / "png-chunks-test"; // the build tree (ctest)
  fs::create_directories(directory);
  const std::string path = (directory / name).string();
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
  return path;
}

/** Builds PNG byte streams chunk by chunk. */
struct PngBytes
{
  Bytes Data;

  PngBytes()
    : Data({ 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' })
  {}

  void
  Put32(uint32_t value)
  {
    for (int shift = 24; shift >= 0; shift -= 8)
    {
      Data.push_back(static_cast<unsigned char>(value >> shift));
    }
  }
  /** A chunk with its length and CRC (off by one when \a badCrc). */
  PngBytes &
  Chunk(const char * type, const Bytes & data, bool badCrc = false)
  {
    Put32(static_cast<uint32_t>(data.size()));
    const std::size_t start = Data.size();
    Data.insert(Data.end(), type, type + 4);
    Data.insert(Data.end(), data.begin(), data.end());
    Put32(static_cast<uint32_t>(crc32(0, Data.data() + start, static_cast<unsigned int>(data.size() + 4))) + badCrc);
    return *this;
  }
  PngBytes &
  Header(uint32_t width, uint32_t height, unsigned char bitDepth, unsigned char colorType, unsigned char interlace = 0,
         bool badCrc = false)
  {
    Bytes data;
    for (const uint32_t value : { width, height })
    {
      for (int shift = 24; shift >= 0; shift -= 8)
      {
        data.push_back(static_cast<unsigned char>(value >> shift));
      }
    }
    data.insert(data.end(), { bitDepth, colorType, 0, 0, interlace });
    return Chunk("IHDR", data, badCrc);
  }
  /** The IDAT of a 4 x 3 image of one byte per pixel (each row: filter byte 0 and four pixels), and IEND. */
  PngBytes &
  ImageData()
  {
    Bytes rows;
    for (unsigned char row = 0; row < 3; ++row)
    {
      rows.insert(rows.end(), { 0, static_cast<unsigned char>(10 * row), 50, 100, 200 });
    }
    Bytes compressed(compressBound(static_cast<uLong>(rows.size())));
    uLongf size = static_cast<uLongf>(compressed.size());
    compress(compressed.data(), &size, rows.data(), static_cast<uLong>(rows.size()));
    compressed.resize(size);
    return Chunk("IDAT", compressed).Chunk("IEND", {});
  }
};

/** A valid 4 x 3 grey image with a text chunk. */
PngBytes
Grey()
{
  PngBytes png;
  png.Header(4, 3, 8, 0).Chunk("tEXt", { 'C', 'o', 'm', 'm', 'e', 'n', 't', 0, 'o', 'k' }).ImageData();
  return png;
}

std::string
CheckError(const std::string & path)
{
  try
  {
    kmeans_cli::CheckPngChunks(path);
  }
  catch (const kmeans_cli::FileError & error)
  {
    return error.what();
  }
  return {};
}

std::string
Damaged(const std::string & path, const std::string & problem, std::size_t size)
{
  return path + ": damaged PNG file: " + problem + " (the file has " + std::to_string(size) + " bytes); not read";
}

TEST(PngChunks, ValidFilesPassAndItkReadsThem)
{
  PngBytes palette; // a palette image, with an ancillary chunk whose CRC is wrong (libpng only warns)
  palette.Header(4, 3, 8, 3).Chunk("PLTE", Bytes(3 * 201, 7)).Chunk("tIME", Bytes(7, 1), true).ImageData();
  for (const auto & [name, png] :
       { std::pair<const char *, PngBytes>{ "grey.png", Grey() }, { "palette.png", palette } })
  {
    const std::string path = WritePngFile(name, png.Data);
    EXPECT_EQ(CheckError(path), "") << name;
    const kmeans_cli::ImageInfo info = kmeans_cli::ProbeImage(path);
    EXPECT_EQ(info.Format, "PNGImageIO") << name;
    EXPECT_EQ(info.Size, (std::vector<std::size_t>{ 4, 3 })) << name;
  }
  using ImageType = itk::Image<unsigned short, 2>;
  auto image = ImageType::New();
  image->SetRegions(ImageType::SizeType{ { 7, 5 } });
  image->Allocate();
  image->FillBuffer(1234);
  auto writer = itk::ImageFileWriter<ImageType>::New();
  writer->SetInput(image);
  writer->SetFileName((fs::current_path() / "png-chunks-test" / "itk.png").string());
  writer->Update();
  EXPECT_EQ(CheckError(writer->GetFileName()), "");
}

TEST(PngChunks, DamagedHeadersAreRefused)
{
  PngBytes ascii; // text where the first chunk starts (found by fuzzing: libpng aborted the program)
  ascii.Data.insert(ascii.Data.end(), { 'p', 'e', ' ', '=', ' ', 0, 0, 0 });
  const std::string asciiPath = WritePngFile("ascii-chunk.png", ascii.Data);
  EXPECT_EQ(CheckError(asciiPath), Damaged(asciiPath, "chunk 1 (type bytes 20 00 00 00) at byte 8: a chunk type is "
                                                      "four letters (libpng stops on others)", 16));
  PngBytes over;
  over.Put32(0x80000000u);
  over.Data.insert(over.Data.end(), { 'I', 'H', 'D', 'R' });
  const std::string overPath = WritePngFile("length-over-31-bits.png", over.Data);
  EXPECT_EQ(CheckError(overPath),
            Damaged(overPath, "chunk IHDR at byte 8 declares a length of 2147483648 bytes, over 2^31 - 1", 16));
  PngBytes type;
  type.Chunk("IH-R", Bytes(13, 1));
  const std::string typePath = WritePngFile("type.png", type.Data);
  EXPECT_EQ(CheckError(typePath), Damaged(typePath, "chunk 1 (type bytes 49 48 2d 52) at byte 8: a chunk type is "
                                                    "four letters (libpng stops on others)", 33));
  PngBytes first;
  first.Chunk("tEXt", { 'a', 0, 'b' }).Header(4, 3, 8, 0).ImageData();
  const std::string firstPath = WritePngFile("text-first.png", first.Data);
  EXPECT_EQ(CheckError(firstPath), Damaged(firstPath, "the first chunk is not IHDR but chunk tEXt at byte 8",
                                           first.Data.size()));
  PngBytes length;
  length.Chunk("IHDR", Bytes(12, 1)).ImageData();
  const std::string lengthPath = WritePngFile("ihdr-length.png", length.Data);
  EXPECT_EQ(CheckError(lengthPath), Damaged(lengthPath, "chunk IHDR at byte 8 has 12 bytes of data, not 13",
                                            length.Data.size()));
  PngBytes crc;
  crc.Header(4, 3, 8, 0, 0, true).ImageData();
  const std::string crcPath = WritePngFile("ihdr-crc.png", crc.Data);
  EXPECT_EQ(CheckError(crcPath), Damaged(crcPath, "CRC error in chunk IHDR at byte 8", crc.Data.size()));
  PngBytes second = Grey();
  second.Data.resize(33);
  second.Header(4, 3, 8, 0).ImageData();
  const std::string secondPath = WritePngFile("second-ihdr.png", second.Data);
  EXPECT_EQ(CheckError(secondPath), Damaged(secondPath, "a second chunk IHDR at byte 33", second.Data.size()));
}

TEST(PngChunks, InvalidImageHeaderFieldsAreRefused)
{
  for (const auto & [name, png, problem] :
       { std::tuple<const char *, PngBytes, const char *>{
           "width.png", PngBytes().Header(0, 3, 8, 0), "image size 0 x 3 (libpng reads 1 to 1000000 pixels a side)" },
         { "height.png", PngBytes().Header(4, 1000001, 8, 0),
           "image size 4 x 1000001 (libpng reads 1 to 1000000 pixels a side)" },
         { "depth.png", PngBytes().Header(4, 3, 4, 2), "bit depth 4 with colour type 2" },
         { "colour.png", PngBytes().Header(4, 3, 8, 5), "bit depth 8 with colour type 5" },
         { "interlace.png", PngBytes().Header(4, 3, 8, 0, 2),
           "compression, filter and interlace methods 0, 0, 2 (0, 0 and 0 or 1 are defined)" } })
  {
    PngBytes          file = png;
    const std::string path = WritePngFile(name, file.ImageData().Data);
    EXPECT_EQ(CheckError(path), Damaged(path, std::string("invalid IHDR: ") + problem, file.Data.size()));
  }
}

TEST(PngChunks, ChunksCutShortOrOutOfPlaceAreRefused)
{
  const std::size_t idat = 55, idatLength = Grey().Data.size() - idat - 24; // after IHDR and tEXt; before IEND
  std::vector<std::tuple<const char *, PngBytes, std::string>> cases;
  PngBytes cut = Grey();
  cut.Data.resize(45);
  cases.emplace_back("cut-text.png", cut, "chunk tEXt at byte 33 declares 10 bytes of data, past the end of the file");
  PngBytes ended = Grey();
  ended.Data.resize(33);
  cases.emplace_back("no-idat.png", ended, "the file ends at byte 33 before any IDAT chunk");
  PngBytes header = Grey();
  header.Data.resize(37);
  cases.emplace_back("cut-header.png", header, "the file ends inside the header of chunk 2 at byte 33");
  PngBytes idatCut = Grey();
  idatCut.Data.resize(idatCut.Data.size() - 14);
  cases.emplace_back("cut-idat.png", idatCut,
                     "chunk IDAT at byte " + std::to_string(idat) + " declares " +
                       std::to_string(idatLength) + " bytes of data, past the end of the file");
  cases.emplace_back("iend.png", PngBytes().Header(4, 3, 8, 0).Chunk("IEND", {}).ImageData(),
                     "chunk IEND at byte 33 before any IDAT chunk");
  cases.emplace_back("critical.png", PngBytes().Header(4, 3, 8, 0).Chunk("ABCD", { 1 }).ImageData(),
                     "chunk ABCD at byte 33 is a critical chunk that PNG readers do not know");
  PngBytes huge;
  huge.Header(4, 3, 8, 0).Put32(9000000);
  huge.Data.insert(huge.Data.end(), { 'z', 'T', 'X', 't', 'a', 0, 0 });
  cases.emplace_back("huge-text.png", huge,
                     "chunk zTXt at byte 33 declares 9000000 bytes, more than libpng reads in a chunk (8000000)");
  cases.emplace_back("no-palette.png", PngBytes().Header(4, 3, 8, 3).ImageData(),
                     "a palette image without a PLTE chunk before its IDAT chunk at byte 33");
  cases.emplace_back("palette-length.png", PngBytes().Header(4, 3, 8, 3).Chunk("PLTE", Bytes(4, 1)).ImageData(),
                     "chunk PLTE at byte 33 has 4 bytes of data; a palette has 1 to 256 entries of 3 bytes");
  cases.emplace_back("palette-crc.png", PngBytes().Header(4, 3, 8, 3).Chunk("PLTE", Bytes(6, 1), true).ImageData(),
                     "CRC error in chunk PLTE at byte 33");
  cases.emplace_back("two-palettes.png",
                     PngBytes().Header(4, 3, 8, 3).Chunk("PLTE", Bytes(6, 1)).Chunk("PLTE", Bytes(6, 1)).ImageData(),
                     "a second chunk PLTE at byte 51");
  for (const auto & [name, png, problem] : cases)
  {
    const std::string path = WritePngFile(name, png.Data);
    EXPECT_EQ(CheckError(path), Damaged(path, problem, png.Data.size())) << name;
  }
}

/** The input of the input fuzz harness on which libpng aborted the program (test/fuzz/regressions/input, format
 * byte 3: the rest is written as a .mha file, which ITK takes for PNG by its signature): refused by the program's
 * probe with one line. */
TEST(PngChunks, FuzzFoundFileIsRefusedByTheProbe)
{
  std::ifstream in(std::string(KMEANS_FUZZ_REGRESSIONS_DIR) + "/input/png-chunk-length-libpng-abort", std::ios::binary);
  const Bytes   bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 9u);
  ASSERT_EQ(bytes[0], 3); // the harness's format byte of a MetaImage file
  for (const char * name : { "fuzz.mha", "fuzz.png" })
  {
    const std::string path = WritePngFile(name, Bytes(bytes.begin() + 1, bytes.end()));
    try
    {
      kmeans_cli::ProbeImage(path);
      ADD_FAILURE() << name << " was not refused";
    }
    catch (const kmeans_cli::FileError & error)
    {
      EXPECT_EQ(std::string(error.what()),
                Damaged(path, "chunk 1 (type bytes 20 00 00 00) at byte 8: a chunk type is four letters (libpng stops "
                              "on others)", bytes.size() - 1));
    }
  }
}
} // namespace

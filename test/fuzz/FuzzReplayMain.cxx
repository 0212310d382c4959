// main() for the fuzz harnesses without libFuzzer: runs LLVMFuzzerTestOneInput once on every file given (or
// every file in every directory given), so that the seed corpus and the regression files under
// test/fuzz/regressions/ run as ordinary tests in every build (and under the sanitizers in the ASan build).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * bytes, size_t size);
extern "C" __attribute__((weak)) int
LLVMFuzzerInitialize(int * argc, char *** argv);

int
main(int argc, char * argv[])
{
  if (LLVMFuzzerInitialize)
  {
    LLVMFuzzerInitialize(&argc, &argv);
  }
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i)
  {
    if (std::filesystem::is_directory(argv[i]))
    {
      for (const auto & entry : std::filesystem::directory_iterator(argv[i]))
      {
        files.push_back(entry.path());
      }
    }
    else
    {
      files.emplace_back(argv[i]);
    }
  }
  for (const auto & file : files)
  {
    std::ifstream              stream(file, std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(stream)), std::istreambuf_iterator<char>());
    std::printf("%s (%zu bytes)\n", file.c_str(), bytes.size());
    std::fflush(stdout);
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  }
  std::printf("%zu inputs ran without a failure\n", files.size());
  return 0;
}

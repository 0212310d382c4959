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
// Baseline of the whole-program benchmark: the least a segmentation program can do. Reads a 3-D int16 image,
// labels it with fixed thresholds in one ITK pass (ThresholdLabelerImageFilter, labels 1..N+1) and writes the
// unsigned char labels. Usage: read-threshold-write [--divisions N] INPUT OUTPUT THRESHOLD... With --divisions the
// writer streams the pipeline in N pieces (the floor of a streamed segmentation: one read and one write).
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkThresholdLabelerImageFilter.h"

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

int
main(int argc, char * argv[])
{
  unsigned int divisions = 1;
  if (argc > 2 && std::string(argv[1]) == "--divisions")
  {
    divisions = static_cast<unsigned int>(std::strtoul(argv[2], nullptr, 10));
    argv += 2;
    argc -= 2;
  }
  if (argc < 4 || divisions < 1)
  {
    std::cerr << "usage: read-threshold-write [--divisions N] INPUT OUTPUT THRESHOLD..." << std::endl;
    return 2;
  }
  using InputImageType = itk::Image<short, 3>;
  using LabelImageType = itk::Image<unsigned char, 3>;
  std::vector<double> thresholds;
  for (int i = 3; i < argc; ++i)
  {
    char *       end = nullptr;
    const double t = std::strtod(argv[i], &end);
    if (end == argv[i] || *end != '\0')
    {
      std::cerr << argv[0] << ": threshold '" << argv[i] << "' is not a number" << std::endl;
      return 2;
    }
    thresholds.push_back(t);
  }
  try
  {
    auto reader = itk::ImageFileReader<InputImageType>::New();
    reader->SetFileName(argv[1]);
    auto labeler = itk::ThresholdLabelerImageFilter<InputImageType, LabelImageType>::New();
    labeler->SetInput(reader->GetOutput());
    labeler->SetRealThresholds(thresholds);
    labeler->SetLabelOffset(1);
    auto writer = itk::ImageFileWriter<LabelImageType>::New();
    writer->SetInput(labeler->GetOutput());
    writer->SetFileName(argv[2]);
    const std::string output = argv[2];
    writer->SetUseCompression(divisions == 1 && output.size() > 3 && output.compare(output.size() - 3, 3, ".gz") == 0);
    writer->SetNumberOfStreamDivisions(divisions);
    writer->Update();
  }
  catch (const itk::ExceptionObject & e)
  {
    std::cerr << argv[0] << ": " << e.GetDescription() << std::endl;
    return 1;
  }
  return 0;
}

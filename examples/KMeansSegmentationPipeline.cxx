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
// A minimal ITK pipeline: read a scalar image, segment it into K classes with the globally optimal
// K-means filter, write the label map (0 = not classified, 1..K by ascending class mean).
//   KMeansSegmentationPipeline INPUT OUTPUT K
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkKMeansSegmentationImageFilter.h"

#include <cstdlib>
#include <iostream>

int
main(int argc, char * argv[])
{
  if (argc != 4)
  {
    std::cerr << "Usage: " << argv[0] << " INPUT OUTPUT K" << std::endl;
    return EXIT_FAILURE;
  }
  constexpr unsigned int Dimension = 3;
  using InputImageType = itk::Image<float, Dimension>;
  using LabelImageType = itk::Image<unsigned char, Dimension>;

  auto reader = itk::ImageFileReader<InputImageType>::New();
  reader->SetFileName(argv[1]);

  using FilterType = itk::KMeansSegmentationImageFilter<InputImageType, LabelImageType>;
  auto filter = FilterType::New();
  filter->SetInput(reader->GetOutput());
  filter->SetNumberOfClasses(static_cast<unsigned int>(std::stoul(argv[3])));

  auto writer = itk::ImageFileWriter<LabelImageType>::New();
  writer->SetInput(filter->GetOutput());
  writer->SetFileName(argv[2]);
  writer->UseCompressionOn();

  try
  {
    writer->Update();
  }
  catch (const itk::ExceptionObject & error)
  {
    std::cerr << "Error: " << error << std::endl;
    return EXIT_FAILURE;
  }

  const auto & means = filter->GetClassMeans();
  const auto & counts = filter->GetClassCounts();
  for (std::size_t k = 0; k < means.size(); ++k)
  {
    std::cout << "class " << k + 1 << ": mean " << means[k] << ", " << counts[k] << " voxels" << std::endl;
  }
  return EXIT_SUCCESS;
}

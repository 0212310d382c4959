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
// Accuracy of the module's segmentations against known tissue labels, for the accuracy benchmark
// (run-accuracy-benchmark.py). Usage:
//   gmm-accuracy IMAGE TRUTH BETA MRF_ITERATIONS FIXED_ITERATIONS [FRACTIONS_DIRECTORY PVE_BETA]
// IMAGE is a scalar scan, TRUTH a label image of the same grid (0 outside the brain, 1 CSF, 2 GM, 3 WM); the
// brain (TRUTH > 0) is the mask. Runs the exact K-means, and the Gaussian mixture without and with the Potts
// prior (weight BETA, at most MRF_ITERATIONS iterations), with per-class and with common variance, three classes
// each, and prints one JSON object per method: {"method", "dice": [CSF, GM, WM], "seconds" and
// "processor_seconds" (wall clock and processor time of all threads of the filter's Update(), reading excluded), "iterations" (EM updates without prior, MRF iterations with)}. A last row runs
// the common-variance GMM + MRF for exactly FIXED_ITERATIONS MRF iterations (no early stop), to compare the time
// with another HMRF implementation at the same number of iterations. Its mixture initialisation is the same as the
// other common-variance rows': as many EM updates as the common-variance GMM row took to converge (convergence
// threshold 0 would otherwise also run the EM initialisation to its MaximumNumberOfIterations).
// Every row also gives "volumes" (voxels of labels 1..3). With FRACTIONS_DIRECTORY, a row after the exact
// K-means runs it on the image divided by the bias field estimated inside the EM ("exact K-means + bias field"), and further rows run the
// bias field estimated inside the EM (GMM + MRF + bias field) and the partial-volume model (weight PVE_BETA)
// without and with it; their rows give "fraction_sums" and their fraction maps are written to
// FRACTIONS_DIRECTORY/<row number>.nii.gz (a 3-component image) for the script to compare with the truth.
#include "itkGaussianMixtureSegmentationImageFilter.h"
#include "itkDivideImageFilter.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkKMeansSegmentationImageFilter.h"

#include <chrono>
#include <ctime>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace
{
using ImageType = itk::Image<float, 3>;
using LabelImageType = itk::Image<unsigned char, 3>;
using MixtureFieldType = itk::Image<float, 3>;

template <typename TImage>
typename TImage::Pointer
Read(const std::string & path)
{
  auto reader = itk::ImageFileReader<TImage>::New();
  reader->SetFileName(path);
  reader->Update();
  return reader->GetOutput();
}

/** Wall-clock and processor (all threads) seconds of one Update(). */
struct Timing
{
  double Wall{ 0.0 };
  double Processor{ 0.0 };
};

void
Report(const std::string &    method,
       const LabelImageType * labels,
       const LabelImageType * truth,
       const Timing &         seconds,
       unsigned int           iterations,
       const std::vector<double> & fractionSums = {})
{
  const std::size_t n = truth->GetBufferedRegion().GetNumberOfPixels();
  std::cout << "{\"method\": \"" << method << "\", \"dice\": [";
  for (unsigned char label = 1; label <= 3; ++label)
  {
    std::size_t both = 0, a = 0, b = 0;
    for (std::size_t i = 0; i < n; ++i)
    {
      const bool x = labels->GetBufferPointer()[i] == label;
      const bool y = truth->GetBufferPointer()[i] == label;
      both += x && y;
      a += x;
      b += y;
    }
    const double score = a + b ? 2.0 * static_cast<double>(both) / static_cast<double>(a + b) : 0.0;
    std::cout << (label > 1 ? ", " : "") << score;
  }
  std::cout << "], \"volumes\": [";
  for (unsigned char label = 1; label <= 3; ++label)
  {
    std::size_t count = 0;
    for (std::size_t i = 0; i < n; ++i)
    {
      count += labels->GetBufferPointer()[i] == label;
    }
    std::cout << (label > 1 ? ", " : "") << count;
  }
  if (!fractionSums.empty())
  {
    std::cout << "], \"fraction_sums\": [" << fractionSums[0] << ", " << fractionSums[1] << ", " << fractionSums[2];
  }
  std::cout << "], \"seconds\": " << seconds.Wall << ", \"processor_seconds\": " << seconds.Processor
            << ", \"iterations\": " << iterations << "}" << std::endl;
}

template <typename TFilter>
Timing
TimedUpdate(TFilter * filter)
{
  const auto         start = std::chrono::steady_clock::now();
  const std::clock_t processorStart = std::clock();
  filter->Update();
  Timing timing;
  timing.Processor = static_cast<double>(std::clock() - processorStart) / CLOCKS_PER_SEC;
  timing.Wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return timing;
}
} // namespace

int
main(int argc, char * argv[])
{
  if (argc != 6 && argc != 8)
  {
    std::cerr << "usage: " << argv[0] << " IMAGE TRUTH BETA MRF_ITERATIONS FIXED_ITERATIONS [FRACTIONS_DIRECTORY PVE_BETA]"
              << std::endl;
    return EXIT_FAILURE;
  }
  try
  {
    const auto         image = Read<ImageType>(argv[1]);
    const auto         truth = Read<LabelImageType>(argv[2]);
    const double       beta = std::stod(argv[3]);
    const unsigned int iterations = static_cast<unsigned int>(std::stoul(argv[4]));
    const unsigned int fixedIterations = static_cast<unsigned int>(std::stoul(argv[5]));

    // Every row's filters are released before the next row runs (each row in a block of its own), so that every
    // row starts with the memory of the earlier ones returned: a filter kept to the end (the fixed-iteration row's,
    // 110 MB on MNI152) made the rows after it take fresh memory from the system, which costs more than memory
    // just returned (up to 0.3 s of PVE's processor time on MNI152).
    {
      auto kmeans = itk::KMeansSegmentationImageFilter<ImageType>::New();
      kmeans->SetInput(image);
      kmeans->SetMaskImage(truth);
      kmeans->SetNumberOfClasses(3);
      const Timing kmeansSeconds = TimedUpdate(kmeans.GetPointer());
      Report("exact K-means", kmeans->GetOutput(), truth, kmeansSeconds, 0);
    }
    if (argc == 8)
    {
      // The exact K-means of the image divided by the bias field estimated inside the EM of a Gaussian mixture
      // (common variance, no prior): the bias correction recommended for K-means on noisy scans.
      auto field = itk::GaussianMixtureSegmentationImageFilter<ImageType>::New();
      field->SetInput(image);
      field->SetMaskImage(truth);
      field->SetNumberOfClasses(3);
      field->SetUseCommonVariance(true);
      field->SetEstimateBiasField(true);
      field->SetMaximumNumberOfMRFIterations(iterations);
      auto divide = itk::DivideImageFilter<ImageType, MixtureFieldType, ImageType>::New();
      divide->SetInput1(image);
      divide->SetInput2(field->GetBiasFieldOutput());
      auto corrected = itk::KMeansSegmentationImageFilter<ImageType>::New();
      corrected->SetInput(divide->GetOutput());
      corrected->SetMaskImage(truth);
      corrected->SetNumberOfClasses(3);
      const Timing seconds = TimedUpdate(corrected.GetPointer()); // the whole pipeline: field, division, K-means
      Report("exact K-means + bias field", corrected->GetOutput(), truth, seconds, 0);
    }

    using MixtureType = itk::GaussianMixtureSegmentationImageFilter<ImageType>;
    unsigned int commonVarianceEMIterations = 0;
    for (const bool common : { false, true })
    {
      for (const double weight : { 0.0, beta })
      {
        auto mixture = MixtureType::New();
        mixture->SetInput(image);
        mixture->SetMaskImage(truth);
        mixture->SetNumberOfClasses(3);
        mixture->SetUseCommonVariance(common);
        mixture->SetMRFWeight(weight);
        mixture->SetMaximumNumberOfMRFIterations(iterations);
        const Timing       seconds = TimedUpdate(mixture.GetPointer());
        if (common && weight == 0.0)
        {
          commonVarianceEMIterations = mixture->GetNumberOfIterations();
        }
        std::ostringstream name;
        name << "GMM" << (common ? ", common variance" : "");
        if (weight > 0.0)
        {
          name << " + MRF (beta " << weight << ")";
        }
        Report(name.str(),
               mixture->GetOutput(),
               truth,
               seconds,
               weight > 0.0 ? mixture->GetNumberOfMRFIterations() : mixture->GetNumberOfIterations());
      }
    }

    {
      auto fixed = MixtureType::New();
      fixed->SetInput(image);
      fixed->SetMaskImage(truth);
      fixed->SetNumberOfClasses(3);
      fixed->SetUseCommonVariance(true);
      fixed->SetMRFWeight(beta);
      fixed->SetMaximumNumberOfMRFIterations(fixedIterations);
      fixed->SetConvergenceThreshold(0.0);
      fixed->SetMaximumNumberOfIterations(commonVarianceEMIterations);
      const Timing       fixedSeconds = TimedUpdate(fixed.GetPointer());
      std::ostringstream name;
      name << "GMM, common variance + MRF (beta " << beta << "), exactly " << fixedIterations << " iterations";
      Report(name.str(), fixed->GetOutput(), truth, fixedSeconds, fixed->GetNumberOfMRFIterations());
    }
    if (argc == 8)
    {
      const double pveBeta = std::stod(argv[7]);
      struct Row
      {
        const char * Name;
        double       Weight;
        bool         PartialVolume;
        bool         Bias;
      };
      const Row rows[] = { { "GMM, common variance + MRF + bias field", beta, false, true },
                           { "PVE", pveBeta, true, false },
                           { "PVE + bias field", pveBeta, true, true } };
      unsigned int number = 0;
      for (const Row & row : rows)
      {
        auto model = MixtureType::New();
        model->SetInput(image);
        model->SetMaskImage(truth);
        model->SetNumberOfClasses(3);
        model->SetUseCommonVariance(true);
        model->SetMRFWeight(row.Weight);
        model->SetMaximumNumberOfMRFIterations(iterations);
        model->SetPartialVolume(row.PartialVolume);
        model->SetEstimateBiasField(row.Bias);
        const Timing       seconds = TimedUpdate(model.GetPointer());
        std::ostringstream rowName;
        rowName << row.Name << " (beta " << row.Weight << ")";
        Report(rowName.str(), model->GetOutput(), truth, seconds, model->GetNumberOfMRFIterations(),
               row.PartialVolume ? model->GetFractionSums() : std::vector<double>{});
        if (row.PartialVolume)
        {
          auto writer = itk::ImageFileWriter<MixtureType::FractionImageType>::New();
          writer->SetInput(model->GetFractionsOutput());
          writer->SetFileName(std::string(argv[6]) + "/" + std::to_string(number) + ".nii.gz");
          writer->Update();
        }
        ++number;
      }
    }
  }
  catch (const std::exception & error)
  {
    std::cerr << argv[0] << ": " << error.what() << std::endl;
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}

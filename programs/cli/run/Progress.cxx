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
#include "cli/run/Progress.h"

#include "itkCommand.h"
#include "itkProcessObject.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <unistd.h>

namespace kmeans_cli
{
ProgressMode
ChooseProgressMode(bool slicerProgress, bool quiet)
{
  if (slicerProgress)
  {
    return ProgressMode::Slicer;
  }
  return !quiet && ::isatty(STDERR_FILENO) ? ProgressMode::Terminal : ProgressMode::None;
}

ProgressReporter::ProgressReporter(ProgressMode mode, std::ostream & stream)
  : m_Mode(mode)
  , m_Stream(stream)
{}

ProgressReporter::ProgressReporter(ProgressMode mode)
  : ProgressReporter(mode, mode == ProgressMode::Slicer ? std::cout : std::cerr)
{}

void
ProgressReporter::Start(const std::string & name, const std::string & comment)
{
  const std::lock_guard<std::mutex> lock(m_Mutex);
  m_Name = name;
  m_Running = true;
  m_LastPercent = -1;
  m_StartTime = std::chrono::steady_clock::now();
  if (m_Mode == ProgressMode::Slicer)
  {
    m_Stream << "<filter-start>\n<filter-name>" << name << "</filter-name>\n<filter-comment> "
             << (comment.empty() ? name : comment) << " </filter-comment>\n</filter-start>" << std::endl;
  }
  else if (m_Mode == ProgressMode::Terminal)
  {
    DrawBar(0.0);
  }
}

void
ProgressReporter::Update(double fraction)
{
  const std::lock_guard<std::mutex> lock(m_Mutex);
  if (m_Mode == ProgressMode::None || !m_Running)
  {
    return;
  }
  fraction = std::clamp(fraction, 0.0, 1.0);
  const int percent = static_cast<int>(std::floor(fraction * 100.0));
  if (percent == m_LastPercent)
  {
    return;
  }
  m_LastPercent = percent;
  if (m_Mode == ProgressMode::Slicer)
  {
    m_Stream << "<filter-progress>" << std::setprecision(3) << fraction << "</filter-progress>" << std::endl;
  }
  else
  {
    DrawBar(fraction);
  }
}

void
ProgressReporter::End()
{
  const std::lock_guard<std::mutex> lock(m_Mutex);
  if (!m_Running)
  {
    return;
  }
  m_Running = false;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_StartTime).count();
  if (m_Mode == ProgressMode::Slicer)
  {
    m_Stream << "<filter-progress>1</filter-progress>\n<filter-end>\n<filter-name>" << m_Name
             << "</filter-name>\n<filter-time>" << std::setprecision(4) << seconds
             << "</filter-time>\n</filter-end>" << std::endl;
  }
  else if (m_Mode == ProgressMode::Terminal)
  {
    DrawBar(1.0);
    m_Stream << " " << std::fixed << std::setprecision(1) << seconds << " s" << std::defaultfloat << std::endl;
  }
}

void
ProgressReporter::DrawBar(double fraction)
{
  constexpr int width = 30;
  const int     filled = static_cast<int>(std::lround(fraction * width));
  m_Stream << "\r" << std::left << std::setw(24) << m_Name.substr(0, 24) << std::right << " ["
           << std::string(static_cast<size_t>(filled), '#') << std::string(static_cast<size_t>(width - filled), ' ')
           << "] " << std::setw(3) << static_cast<int>(std::floor(fraction * 100.0)) << "%" << std::flush;
}

void
ProgressReporter::Observe(itk::Object * process, const std::string & name, const std::string & comment)
{
  if (m_Mode == ProgressMode::None || process == nullptr)
  {
    return;
  }
  process->AddObserver(itk::StartEvent(), [this, name, comment](const itk::EventObject &) { Start(name, comment); });
  process->AddObserver(itk::ProgressEvent(), [this, process](const itk::EventObject &) {
    if (auto * filter = dynamic_cast<itk::ProcessObject *>(process))
    {
      Update(filter->GetProgress());
    }
  });
  process->AddObserver(itk::EndEvent(), [this](const itk::EventObject &) { End(); });
}
} // namespace kmeans_cli

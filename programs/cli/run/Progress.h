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
#ifndef KMeansCLI_Progress_h
#define KMeansCLI_Progress_h

#include "itkObject.h"

#include <chrono>
#include <mutex>
#include <ostream>
#include <string>

namespace kmeans_cli
{
/** Where progress goes: nowhere, a bar on the terminal (standard error), or the XML lines 3D Slicer reads from a
 * CLI module's standard output. */
enum class ProgressMode
{
  None,
  Terminal,
  Slicer
};

/** Slicer mode when \a slicerProgress (the hidden --slicer-progress flag, which Slicer passes because the
 * module's XML gives it the default true); otherwise a terminal bar when standard error is a terminal and
 * \a quiet is false; otherwise none (pipes, files, CI logs stay free of control characters). */
ProgressMode
ChooseProgressMode(bool slicerProgress, bool quiet);

/** Reports the progress of the program's long steps (reading a series, N4, segmentation ...).
 *
 * In Slicer mode every step prints <filter-start> with <filter-name> and <filter-comment>, then
 * <filter-progress>x</filter-progress> lines (x in 0..1) and <filter-end> with <filter-time> on the stream, as
 * itk::XMLFilterWatcher does; in terminal mode a one-line bar "name [#####     ]  50%" is redrawn in place. Safe
 * to call from several threads. */
class ProgressReporter
{
public:
  ProgressReporter(ProgressMode mode, std::ostream & stream);
  explicit ProgressReporter(ProgressMode mode);
  ProgressReporter(const ProgressReporter &) = delete;
  ProgressReporter &
  operator=(const ProgressReporter &) = delete;

  ProgressMode
  GetMode() const
  {
    return m_Mode;
  }

  void
  Start(const std::string & name, const std::string & comment = {});
  /** \a fraction in 0..1; repeated values and changes below 1 % are not printed again. */
  void
  Update(double fraction);
  void
  End();

  /** Starts, updates and ends a step with the StartEvent, ProgressEvent and EndEvent of \a process (an
   * itk::ProcessObject). The observers live as long as \a process; \a this must outlive it. */
  void
  Observe(itk::Object * process, const std::string & name, const std::string & comment = {});

private:
  void
  DrawBar(double fraction);

  ProgressMode                          m_Mode;
  std::ostream &                        m_Stream;
  std::mutex                            m_Mutex;
  std::string                           m_Name;
  bool                                  m_Running{ false };
  int                                   m_LastPercent{ -1 };
  std::chrono::steady_clock::time_point m_StartTime;
};
} // namespace kmeans_cli

#endif

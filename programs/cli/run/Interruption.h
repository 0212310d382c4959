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
#ifndef KMeansCLIInterruption_h
#define KMeansCLIInterruption_h

#include <csignal>
#include <string>

namespace kmeans_cli
{
/** What the program does on SIGINT, SIGTERM and SIGHUP (Ctrl-C, Slurm's scancel and time limit, a closed
 * terminal). */
enum class InterruptMode
{
  /** A single run: remove every temporary file and directory of the run and the outputs it has already moved
   * into place (an interrupted run leaves no result, like make), then end by the same signal (the shell
   * reports exit status 128 + signal). */
  CleanUpAndEnd,
  /** A batch: only note the signal (InterruptSignal()) and wake the batch's wait, which then stops its
   * children, writes its summary and ends by the signal with EndBySignal(). */
  Defer
};

/** Install the handlers (a signal ignored when the program started, as `nohup` does, stays ignored). */
void
InstallInterruptHandlers(InterruptMode mode);

/** The signal received in InterruptMode::Defer, 0 while none was. */
int
InterruptSignal();

/** End the process by signal (its default action), as if the handler had not been installed. */
[[noreturn]] void
EndBySignal(int signal);

/** Remove what the handler of InterruptMode::CleanUpAndEnd would: a run that fails (exit status 1) leaves no
 * output either. */
void
DiscardRunOutputs();

/** What the handler of InterruptMode::CleanUpAndEnd removes. */
enum class CleanupKind
{
  TemporaryDirectory, //!< the directory and every file in it
  WrittenFile,        //!< a file this run moved into place
  PreviewTemporaries  //!< the files ".NAME.tmpPID" of this process in that directory (the VTK preview's)
};

/** Register path for removal on interruption; returns a handle for UnregisterCleanup (-1 when the fixed-size
 * table, which the signal handler reads without allocating, is full). */
int
RegisterCleanup(CleanupKind kind, const std::string & path);

void
UnregisterCleanup(int handle);

/** While alive, SIGINT, SIGTERM and SIGHUP are held back (delivered when it goes), so that a step such as
 * "create a temporary directory and register it" is never cut in the middle. */
class InterruptsHeld
{
public:
  InterruptsHeld();
  ~InterruptsHeld();
  InterruptsHeld(const InterruptsHeld &) = delete;
  InterruptsHeld &
  operator=(const InterruptsHeld &) = delete;

private:
  sigset_t m_Saved; //!< the previous signal mask
};
} // namespace kmeans_cli

#endif

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
#include "cli/run/Interruption.h"

#include <atomic>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace kmeans_cli
{
namespace
{
constexpr int HandledSignals[] = { SIGINT, SIGTERM, SIGHUP };
constexpr int TableSize = 128;

/** One entry of the table the handler reads: written before Kind is published, so the handler (which may
 * run at any moment) sees either no entry or a whole one. */
struct CleanupEntry
{
  std::atomic<int> Kind{ -1 };
  char             Path[PATH_MAX];
};

CleanupEntry          Table[TableSize];
std::atomic<int>      Mode{ static_cast<int>(InterruptMode::CleanUpAndEnd) };
std::atomic<int>      Received{ 0 };
std::atomic<long>     MainThread{ 0 };
char                  PreviewSuffix[32]; // ".tmp<pid>"

bool
EndsWith(const char * name, const char * suffix)
{
  const std::size_t n = std::strlen(name), m = std::strlen(suffix);
  return n > m && std::memcmp(name + n - m, suffix, m) == 0;
}

/** Remove the files of directory (those ending with suffix, or all when suffix is null), with system calls
 * only: this runs in the signal handler. */
void
RemoveFilesIn(const char * directory, const char * suffix)
{
  const int fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
  {
    return;
  }
  alignas(8) char buffer[8192];
  long            n = 0;
  while ((n = syscall(SYS_getdents64, fd, buffer, sizeof(buffer))) > 0)
  {
    for (long at = 0; at < n;)
    {
      const auto   reclen = *reinterpret_cast<unsigned short *>(buffer + at + 16);
      const char * name = buffer + at + 19; // struct linux_dirent64: ino, off, reclen, type, name
      if (std::strcmp(name, ".") != 0 && std::strcmp(name, "..") != 0 &&
          (suffix == nullptr || (name[0] == '.' && EndsWith(name, suffix))))
      {
        unlinkat(fd, name, 0);
      }
      at += reclen;
    }
  }
  close(fd);
}

void
CleanUp()
{
  for (auto & entry : Table)
  {
    switch (static_cast<CleanupKind>(entry.Kind.load(std::memory_order_acquire)))
    {
      case CleanupKind::TemporaryDirectory:
        RemoveFilesIn(entry.Path, nullptr);
        rmdir(entry.Path);
        break;
      case CleanupKind::WrittenFile:
        unlink(entry.Path);
        break;
      case CleanupKind::PreviewTemporaries:
        RemoveFilesIn(entry.Path, PreviewSuffix);
        break;
    }
  }
}

void
OnSignal(int signal)
{
  if (Mode.load() == static_cast<int>(InterruptMode::Defer))
  {
    Received.store(signal);
    return;
  }
  const long self = syscall(SYS_gettid);
  if (self != MainThread.load())
  {
    // A worker thread got the process's signal: the main thread (the one that writes files) handles it.
    syscall(SYS_tgkill, getpid(), MainThread.load(), signal);
    return;
  }
  CleanUp();
  EndBySignal(signal);
}

void
Append(char * text, std::size_t capacity, const char * more)
{
  std::strncat(text, more, capacity - std::strlen(text) - 1);
}
} // namespace

void
InstallInterruptHandlers(InterruptMode mode)
{
  Mode.store(static_cast<int>(mode));
  MainThread.store(syscall(SYS_gettid));
  PreviewSuffix[0] = '\0';
  Append(PreviewSuffix, sizeof(PreviewSuffix), ".tmp");
  Append(PreviewSuffix, sizeof(PreviewSuffix), std::to_string(getpid()).c_str());
  for (const int signal : HandledSignals)
  {
    struct sigaction previous;
    if (sigaction(signal, nullptr, &previous) == 0 && previous.sa_handler == SIG_IGN)
    {
      continue;
    }
    struct sigaction action;
    std::memset(&action, 0, sizeof(action));
    action.sa_handler = OnSignal;
    sigemptyset(&action.sa_mask);
    for (const int other : HandledSignals)
    {
      sigaddset(&action.sa_mask, other); // one handler at a time
    }
    action.sa_flags = mode == InterruptMode::Defer ? 0 : SA_RESTART;
    sigaction(signal, &action, nullptr);
  }
}

void
DiscardRunOutputs()
{
  InterruptsHeld held;
  CleanUp();
}

int
InterruptSignal()
{
  return Received.load();
}

void
EndBySignal(int signal)
{
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  sigaction(signal, &action, nullptr);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signal);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
  raise(signal);
  _exit(128 + signal);
}

int
RegisterCleanup(CleanupKind kind, const std::string & path)
{
  if (path.size() >= PATH_MAX)
  {
    return -1;
  }
  InterruptsHeld held;
  for (int i = 0; i < TableSize; ++i)
  {
    if (Table[i].Kind.load() < 0)
    {
      std::memcpy(Table[i].Path, path.c_str(), path.size() + 1);
      Table[i].Kind.store(static_cast<int>(kind), std::memory_order_release);
      return i;
    }
  }
  return -1;
}

void
UnregisterCleanup(int handle)
{
  if (handle >= 0 && handle < TableSize)
  {
    Table[handle].Kind.store(-1, std::memory_order_release);
  }
}

InterruptsHeld::InterruptsHeld()
{
  sigset_t set;
  sigemptyset(&set);
  for (const int signal : HandledSignals)
  {
    sigaddset(&set, signal);
  }
  pthread_sigmask(SIG_BLOCK, &set, &m_Saved);
}

InterruptsHeld::~InterruptsHeld()
{
  pthread_sigmask(SIG_SETMASK, &m_Saved, nullptr);
}
} // namespace kmeans_cli

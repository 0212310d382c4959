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
#include "cli/run/ErrorReporting.h"

#include "itkObjectFactory.h"
#include "itkOutputWindow.h"
#include "gdcmTrace.h"

#include <algorithm>
#include <cctype>
#include <iostream>
#include <regex>
#include <vector>

namespace kmeans_cli
{
FileError::FileError(const std::string & file, const std::string & problem)
  : std::runtime_error(OneLine(file + ": " + problem))
  , m_File(file)
{}

std::string
OneLine(const std::string & text)
{
  std::string result;
  bool        pendingSpace = false;
  for (const char c : text)
  {
    if (std::isspace(static_cast<unsigned char>(c)))
    {
      pendingSpace = !result.empty();
      continue;
    }
    if (pendingSpace)
    {
      result += ' ';
      pendingSpace = false;
    }
    result += c;
  }
  return result;
}

std::string
OneLine(const itk::ExceptionObject & exception)
{
  return OneLineDescription(exception.GetDescription());
}

std::string
OneLineDescription(std::string text)
{
  // ITK prefixes itkExceptionMacro messages with "ITK ERROR: ClassName(0x1234):"; keep only the message.
  static const std::regex prefix(R"(ITK ERROR:\s*\w+\(0x[0-9a-fA-F]+\):\s*)");
  text = std::regex_replace(text, prefix, "");
  text = OneLine(text);
  // Some readers repeat the file name ("Could not read file FILE"), keep that: it is the user's path.
  while (!text.empty() && (text.back() == '.' || text.back() == ':'))
  {
    text.pop_back();
  }
  return text.empty() ? std::string("unknown ITK error") : text;
}

// A named namespace: CapturedMessages::Impl holds one, and a unity build sees Impl's definition as a header's.
namespace error_reporting_detail
{
/** An itk::OutputWindow that appends everything to a string. */
class StringOutputWindow : public itk::OutputWindow
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(StringOutputWindow);
  using Self = StringOutputWindow;
  using Superclass = itk::OutputWindow;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);

  void
  DisplayText(const char * text) override
  {
    if (text != nullptr)
    {
      m_Text += text;
      m_Text += '\n';
    }
  }

  std::string m_Text;

protected:
  StringOutputWindow() = default;
  ~StringOutputWindow() override = default;
};
} // namespace error_reporting_detail
using error_reporting_detail::StringOutputWindow;

struct CapturedMessages::Impl
{
  StringOutputWindow::Pointer window = StringOutputWindow::New();
  itk::OutputWindow::Pointer  previousWindow;
  std::ostringstream          gdcmStream;
  std::ostringstream          cerrStream;
  std::streambuf *            previousCerr = nullptr;
};

CapturedMessages::CapturedMessages()
  : m_Impl(std::make_unique<Impl>())
{
  m_Impl->previousWindow = itk::OutputWindow::GetInstance();
  itk::OutputWindow::SetInstance(m_Impl->window);
  gdcm::Trace::SetWarningStream(m_Impl->gdcmStream);
  gdcm::Trace::SetErrorStream(m_Impl->gdcmStream);
  gdcm::Trace::SetDebugStream(m_Impl->gdcmStream);
  // MetaIO and a few other readers write straight to std::cerr.
  m_Impl->previousCerr = std::cerr.rdbuf(m_Impl->cerrStream.rdbuf());
}

CapturedMessages::~CapturedMessages()
{
  itk::OutputWindow::SetInstance(m_Impl->previousWindow);
  gdcm::Trace::SetWarningStream(std::cerr);
  gdcm::Trace::SetErrorStream(std::cerr);
  gdcm::Trace::SetDebugStream(std::cerr);
  std::cerr.rdbuf(m_Impl->previousCerr);
}

std::string
CapturedMessages::Text() const
{
  return m_Impl->window->m_Text + m_Impl->gdcmStream.str() + m_Impl->cerrStream.str();
}

std::string
CapturedMessages::FirstFailure() const
{
  static const std::vector<std::string> signals = { "incomplete", "not read completely", "truncated",
                                                    "premature", "unexpected end", "could not read",
                                                    "error" };
  std::istringstream lines(Text());
  std::string        line;
  while (std::getline(lines, line))
  {
    std::string lower = line;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    for (const auto & signal : signals)
    {
      if (lower.find(signal) != std::string::npos)
      {
        return OneLine(line);
      }
    }
  }
  return {};
}
} // namespace kmeans_cli

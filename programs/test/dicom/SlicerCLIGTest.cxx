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
#include "cli/options/SlicerCLIDescription.h"

#include "itkImage.h"
#include "itkMedianImageFilter.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <unistd.h>
#include <vector>

namespace
{
size_t
Count(const std::string & text, const std::string & what)
{
  size_t count = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
  {
    ++count;
  }
  return count;
}

TEST(SlicerCLI, XMLListsEveryParameterOnce)
{
  const auto &      parameters = kmeans_cli::KMeansSegmentSlicerParameters();
  const std::string xml = kmeans_cli::SlicerCLIDescriptionXML(parameters, "1.2.3");
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<executable>", 0), 0u);
  EXPECT_NE(xml.find("<version>1.2.3</version>"), std::string::npos);
  EXPECT_EQ(Count(xml, "<parameters"), Count(xml, "</parameters>"));
  std::set<std::string> names, flags;
  int                   positional = 0;
  for (const auto & p : parameters)
  {
    EXPECT_TRUE(names.insert(p.Name).second) << "duplicate name " << p.Name;
    EXPECT_EQ(Count(xml, "<name>" + p.Name + "</name>"), 1u) << p.Name;
    EXPECT_FALSE(p.Label.empty()) << p.Name;
    EXPECT_FALSE(p.Description.empty()) << p.Name;
    EXPECT_EQ(p.LongFlag.empty(), p.Index >= 0) << p.Name << ": a parameter is either a flag or positional";
    if (!p.LongFlag.empty())
    {
      EXPECT_TRUE(flags.insert(p.LongFlag).second) << "duplicate flag " << p.LongFlag;
      EXPECT_EQ(Count(xml, "<longflag>" + p.LongFlag + "</longflag>"), 1u) << p.LongFlag;
    }
    else
    {
      EXPECT_EQ(p.Index, positional++) << p.Name << ": indices 0, 1, ... in table order";
    }
    if (p.Tag == "image" || p.Tag == "file")
    {
      EXPECT_TRUE(p.Channel == "input" || p.Channel == "output") << p.Name;
    }
  }
  for (const std::string tag : { "image", "integer", "double", "boolean", "string", "file", "string-enumeration" })
  {
    EXPECT_EQ(Count(xml, "<" + tag + ">") + Count(xml, "<" + tag + " "), Count(xml, "</" + tag + ">")) << tag;
  }
  // The output is a label map that Slicer can load into a label map or a segmentation node.
  EXPECT_NE(xml.find("<image type=\"label\">\n      <name>outputLabelMap</name>"), std::string::npos);
  EXPECT_NE(xml.find("<longflag>output</longflag>"), std::string::npos);
  EXPECT_NE(xml.find("<index>0</index>"), std::string::npos);
}

TEST(SlicerCLI, XMLEscapesText)
{
  std::vector<kmeans_cli::SlicerParameter> parameters(1);
  parameters[0].Group = "G & H";
  parameters[0].Tag = "double";
  parameters[0].Name = "x";
  parameters[0].LongFlag = "x";
  parameters[0].Label = "x";
  parameters[0].Description = "a < b > c";
  const std::string xml = kmeans_cli::SlicerCLIDescriptionXML(parameters, "1");
  EXPECT_NE(xml.find("<label>G &amp; H</label>"), std::string::npos);
  EXPECT_NE(xml.find("<description>a &lt; b &gt; c</description>"), std::string::npos);
}

TEST(SlicerCLI, XMLRequestIsTheOnlyArgument)
{
  const char * xmlOnly[] = { "kmeans-segment", "--xml" };
  const char * more[] = { "kmeans-segment", "--xml", "a.nii" };
  EXPECT_TRUE(kmeans_cli::IsSlicerXMLRequest(2, xmlOnly));
  EXPECT_FALSE(kmeans_cli::IsSlicerXMLRequest(3, more));
  EXPECT_FALSE(kmeans_cli::IsSlicerXMLRequest(1, xmlOnly));
}

TEST(Progress, SlicerLines)
{
  std::ostringstream           out;
  kmeans_cli::ProgressReporter progress(kmeans_cli::ProgressMode::Slicer, out);
  progress.Start("N4", "bias field");
  progress.Update(0.5);
  progress.Update(0.504); // same percent: not repeated
  progress.Update(0.75);
  progress.End();
  const std::string text = out.str();
  EXPECT_EQ(text.rfind("<filter-start>\n<filter-name>N4</filter-name>\n<filter-comment> bias field "
                       "</filter-comment>\n</filter-start>\n<filter-progress>0.5</filter-progress>\n"
                       "<filter-progress>0.75</filter-progress>\n<filter-progress>1</filter-progress>\n"
                       "<filter-end>\n<filter-name>N4</filter-name>\n<filter-time>",
                       0),
            0u)
    << text;
  EXPECT_NE(text.find("</filter-time>\n</filter-end>\n"), std::string::npos);
}

TEST(Progress, ObservesAFilter)
{
  using ImageType = itk::Image<float, 3>;
  auto image = ImageType::New();
  image->SetRegions(ImageType::SizeType{ { 48, 48, 48 } });
  image->Allocate();
  image->FillBuffer(1.0f);
  auto median = itk::MedianImageFilter<ImageType, ImageType>::New();
  median->SetInput(image);
  std::ostringstream           out;
  kmeans_cli::ProgressReporter progress(kmeans_cli::ProgressMode::Slicer, out);
  progress.Observe(median, "Median");
  median->Update();
  const std::string text = out.str();
  EXPECT_EQ(Count(text, "<filter-start>"), 1u);
  EXPECT_EQ(Count(text, "<filter-end>"), 1u);
  std::istringstream lines(text);
  std::string        line;
  double             previous = -1.0;
  int                updates = 0;
  while (std::getline(lines, line))
  {
    if (line.rfind("<filter-progress>", 0) == 0)
    {
      const double value = std::stod(line.substr(17));
      EXPECT_GE(value, previous);
      EXPECT_LE(value, 1.0);
      previous = value;
      ++updates;
    }
  }
  EXPECT_GE(updates, 2);
  EXPECT_EQ(previous, 1.0);
}

TEST(Progress, TerminalBarAndMode)
{
  std::ostringstream           out;
  kmeans_cli::ProgressReporter progress(kmeans_cli::ProgressMode::Terminal, out);
  progress.Start("Reading series");
  progress.Update(0.5);
  progress.End();
  EXPECT_NE(out.str().find("\rReading series           [###############               ]  50%"), std::string::npos)
    << out.str();
  EXPECT_EQ(out.str().back(), '\n');
  EXPECT_EQ(kmeans_cli::ChooseProgressMode(true, true), kmeans_cli::ProgressMode::Slicer);
  EXPECT_EQ(kmeans_cli::ChooseProgressMode(false, true), kmeans_cli::ProgressMode::None);
  if (!::isatty(STDERR_FILENO))
  {
    EXPECT_EQ(kmeans_cli::ChooseProgressMode(false, false), kmeans_cli::ProgressMode::None);
  }
  std::ostringstream           none;
  kmeans_cli::ProgressReporter silent(kmeans_cli::ProgressMode::None, none);
  silent.Start("x");
  silent.Update(0.3);
  silent.End();
  EXPECT_TRUE(none.str().empty());
}
} // namespace

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
#ifndef KMeansCLI_SlicerCLIDescription_h
#define KMeansCLI_SlicerCLIDescription_h

#include <string>
#include <vector>

namespace kmeans_cli
{
/** One parameter of the 3D Slicer CLI module description (SlicerExecutionModel XML). A parameter is passed by
 * Slicer either as a flag (\c --LongFlag value; a boolean as \c --LongFlag alone when true) or, with an Index,
 * as a positional argument in index order after the flags. */
struct SlicerParameter
{
  std::string              Group;       //!< label of the <parameters> group, in order of first appearance
  std::string              Tag;         //!< image, integer, double, boolean, string, file, string-enumeration ...
  std::string              Name;        //!< identifier (letters, digits, underscore)
  std::string              LongFlag;    //!< without the leading "--"; empty for a positional parameter
  std::string              Flag;        //!< one letter without the leading "-", optional
  int                      Index{ -1 }; //!< position among the positional arguments, or -1
  std::string              Label;
  std::string              Description;
  std::string              Default;     //!< empty: no <default> (Slicer then passes nothing until it is set)
  std::string              Channel;     //!< input or output, for images and files
  std::string              ImageType;   //!< image type attribute: scalar, label ...
  std::string              FileExtensions; //!< e.g. ".json"
  std::string              Minimum;     //!< <constraints> for numbers
  std::string              Maximum;
  std::string              Step;
  std::vector<std::string> Elements;    //!< <element>s of a string-enumeration
  bool                     Hidden{ false };
};

/** The parameters of kmeans-segment, one row each, in the order Slicer shows them. Every option of the program
 * that makes sense in Slicer has a row here (the tests check this against the command-line parser): an option
 * added to the program gets a row added to this table. */
const std::vector<SlicerParameter> &
KMeansSegmentSlicerParameters();

/** The SlicerExecutionModel XML description of \a parameters (what "kmeans-segment --xml" prints). */
std::string
SlicerCLIDescriptionXML(const std::vector<SlicerParameter> & parameters, const std::string & version);

/** True when \a argv is exactly "PROGRAM --xml", the way 3D Slicer asks a CLI module for its description. */
bool
IsSlicerXMLRequest(int argc, const char * const * argv);
} // namespace kmeans_cli

#endif

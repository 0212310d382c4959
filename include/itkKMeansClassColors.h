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
#ifndef itkKMeansClassColors_h
#define itkKMeansClassColors_h

#include <array>
#include <string>
#include <vector>

namespace itk
{
/** \brief Names and display colours of the K classes of a segmentation, shared by every output that shows
 * them (the 3D Slicer `.seg.nrrd` segments, the VTK preview picture, the ParaView files and the viewer), so
 * that a class has the same colour everywhere.
 *
 * Header-only and independent of ITK and VTK.
 *
 * Colours are those of 3D Slicer's GenericAnatomyColors table:
 * - Tissue classes (`--tissues`, brain, K = 3, labels ascending by mean T1 intensity):
 *   1 "CSF" = "cerebro-spinal fluid" (85, 188, 255), 2 "Grey matter" = "gray matter" (200, 200, 235),
 *   3 "White matter" = "white matter" (250, 250, 210).
 * - Otherwise classes "Class 1".."Class K" get the colours Slicer's Segment Editor gives new segments
 *   1, 2, 3, ...: GenericAnatomyColors entries 1..12 (tissue (128, 174, 128), bone (241, 214, 145),
 *   skin (177, 122, 101), connective tissue (111, 184, 210), blood (216, 101, 79), organ (221, 130, 101),
 *   mass (144, 238, 144), muscle (192, 104, 88), foreign object (220, 245, 20), waste (78, 63, 0),
 *   teeth (255, 250, 220), fat (230, 220, 70)), repeated from the start for K > 12.
 *
 * \ingroup KMeansSegmentation
 */
namespace KMeansClassColors
{
/** Name and colour (components in 0..1, as Slicer's `Segment<N>_Color`) of one class. */
struct ClassStyle
{
  std::string           Name;
  std::array<double, 3> Color{ { 0.0, 0.0, 0.0 } };
};

/** Whether tissue names exist for this number of classes (brain T1, K = 3). */
inline bool
HasTissueNames(unsigned int numberOfClasses)
{
  return numberOfClasses == 3;
}

/** Tissue names for labels 1..K ascending by mean T1 intensity; empty when HasTissueNames(K) is false. */
inline std::vector<std::string>
GetTissueNames(unsigned int numberOfClasses)
{
  if (!HasTissueNames(numberOfClasses))
  {
    return {};
  }
  return { "CSF", "Grey matter", "White matter" };
}

/** Names and colours for labels 1..K (element i is label i + 1). With tissues (and HasTissueNames(K)) the
 * tissue names and Slicer's tissue colours, otherwise "Class i" and the generic colours. */
inline std::vector<ClassStyle>
GetClassStyles(unsigned int numberOfClasses, bool tissues = false)
{
  constexpr unsigned char generic[12][3] = { { 128, 174, 128 }, { 241, 214, 145 }, { 177, 122, 101 },
                                             { 111, 184, 210 }, { 216, 101, 79 },  { 221, 130, 101 },
                                             { 144, 238, 144 }, { 192, 104, 88 },  { 220, 245, 20 },
                                             { 78, 63, 0 },     { 255, 250, 220 }, { 230, 220, 70 } };
  constexpr unsigned char tissue[3][3] = { { 85, 188, 255 }, { 200, 200, 235 }, { 250, 250, 210 } };
  const bool              useTissues = tissues && HasTissueNames(numberOfClasses);
  const auto              tissueNames = GetTissueNames(numberOfClasses);

  std::vector<ClassStyle> styles(numberOfClasses);
  for (unsigned int i = 0; i < numberOfClasses; ++i)
  {
    const unsigned char * rgb = useTissues ? tissue[i] : generic[i % 12];
    styles[i].Name = useTissues ? tissueNames[i] : "Class " + std::to_string(i + 1);
    for (unsigned int c = 0; c < 3; ++c)
    {
      styles[i].Color[c] = rgb[c] / 255.0;
    }
  }
  return styles;
}
} // namespace KMeansClassColors
} // namespace itk

#endif // itkKMeansClassColors_h

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
#ifndef KMeansFilterTestSupport_h
#define KMeansFilterTestSupport_h

#include "itkMacro.h"

#include <functional>
#include <string>

/** What the filters' tests share: an image of a given size, the message of the exception a call throws. */
namespace KMeansTest
{
/** A zero-filled image of the given size (origin 0, spacing 1). */
template <typename TImage>
typename TImage::Pointer
MakeImage(const typename TImage::SizeType & size)
{
  auto image = TImage::New();
  image->SetRegions(typename TImage::RegionType(size));
  image->Allocate(true);
  return image;
}

/** The description of the itk::ExceptionObject that f throws, or "(no exception)". */
inline std::string
ErrorOf(const std::function<void()> & f)
{
  try
  {
    f();
  }
  catch (const itk::ExceptionObject & e)
  {
    return e.GetDescription();
  }
  return "(no exception)";
}
} // namespace KMeansTest

#endif

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
#ifndef itkKMeansSegmentationMacros_h
#define itkKMeansSegmentationMacros_h

#include "itkMacro.h"

/** ITK 5.4 introduced itkOverrideGetNameOfClassMacro and ITK 6 removes itkTypeMacro; on older ITK the new
 * macro is defined in terms of the old one so that the module's classes compile against 5.2 through 6.0. */
#ifndef itkOverrideGetNameOfClassMacro
#  define itkOverrideGetNameOfClassMacro(thisClass)                                                                   \
    const char * GetNameOfClass() const override { return #thisClass; }                                                \
    ITK_MACROEND_NOOP_STATEMENT
#endif

#endif

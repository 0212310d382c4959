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
#ifndef itkImageToVTKImageData_h
#define itkImageToVTKImageData_h

#include "itkImage.h"
#include "itkImageRegionConstIterator.h"

#include <vtkAOSDataArrayTemplate.h>
#include <vtkImageData.h>
#include <vtkPointData.h>
#include <vtkSmartPointer.h>

namespace itk
{
/** \brief The ITK -> VTK image bridge of the preview (Debian's ITK has no ITKVtkGlue).
 *
 * ImageToVTKImageData() copies a scalar itk::Image of up to three dimensions into a new vtkImageData whose
 * extent is the image's buffered region (VTK extents are index ranges, so the ITK start index is kept) and
 * whose origin, spacing and direction matrix (vtkImageData::SetDirectionMatrix, VTK >= 9) are ITK's unchanged:
 * VTK point (i, j, k) lies at the same physical LPS position as ITK index [i, j, k]. The pixels become the
 * point-data array named arrayName, which is also made the active scalars. AddImageAsPointData() adds another
 * image of the same grid as a further array.
 *
 * \ingroup KMeansSegmentation
 */
template <typename TImage>
vtkSmartPointer<vtkImageData>
ImageToVTKImageData(const TImage * image, const char * arrayName);

/** Append the pixels of image, which must have the grid of imageData, as a point-data array. */
template <typename TImage>
void
AddImageAsPointData(const TImage * image, const char * arrayName, vtkImageData * imageData);

namespace ImageToVTKDetail
{
template <typename TImage>
vtkSmartPointer<vtkAOSDataArrayTemplate<typename TImage::PixelType>>
CopyPixels(const TImage * image, const char * arrayName)
{
  using PixelType = typename TImage::PixelType;
  static_assert(std::is_arithmetic_v<PixelType>, "ImageToVTKImageData copies scalar images only");
  const auto & region = image->GetBufferedRegion();
  auto         array = vtkSmartPointer<vtkAOSDataArrayTemplate<PixelType>>::New();
  array->SetName(arrayName);
  array->SetNumberOfComponents(1);
  array->SetNumberOfTuples(static_cast<vtkIdType>(region.GetNumberOfPixels()));
  PixelType * out = array->GetPointer(0);
  // ITK's and VTK's orders agree: the first index runs fastest.
  for (ImageRegionConstIterator<TImage> it(image, region); !it.IsAtEnd(); ++it)
  {
    *out++ = it.Get();
  }
  return array;
}
} // namespace ImageToVTKDetail

template <typename TImage>
vtkSmartPointer<vtkImageData>
ImageToVTKImageData(const TImage * image, const char * arrayName)
{
  constexpr unsigned int Dimension = TImage::ImageDimension;
  static_assert(Dimension >= 1 && Dimension <= 3, "vtkImageData holds at most three dimensions");
  const auto & region = image->GetBufferedRegion();

  int    extent[6] = { 0, 0, 0, 0, 0, 0 };
  double spacing[3] = { 1.0, 1.0, 1.0 };
  double origin[3] = { 0.0, 0.0, 0.0 };
  double direction[9] = { 1, 0, 0, 0, 1, 0, 0, 0, 1 };
  for (unsigned int d = 0; d < Dimension; ++d)
  {
    extent[2 * d] = static_cast<int>(region.GetIndex(d));
    extent[2 * d + 1] = static_cast<int>(region.GetIndex(d) + static_cast<IndexValueType>(region.GetSize(d))) - 1;
    spacing[d] = image->GetSpacing()[d];
    origin[d] = image->GetOrigin()[d];
    for (unsigned int e = 0; e < Dimension; ++e)
    {
      direction[3 * d + e] = image->GetDirection()[d][e];
    }
  }
  auto output = vtkSmartPointer<vtkImageData>::New();
  output->SetExtent(extent);
  output->SetSpacing(spacing);
  output->SetOrigin(origin);
  output->SetDirectionMatrix(direction);
  auto array = ImageToVTKDetail::CopyPixels(image, arrayName);
  output->GetPointData()->SetScalars(array);
  return output;
}

template <typename TImage>
void
AddImageAsPointData(const TImage * image, const char * arrayName, vtkImageData * imageData)
{
  const auto pixels = static_cast<vtkIdType>(image->GetBufferedRegion().GetNumberOfPixels());
  if (imageData == nullptr || imageData->GetNumberOfPoints() != pixels)
  {
    itkGenericExceptionMacro(<< "AddImageAsPointData: array \"" << arrayName << "\" has " << pixels
                             << " pixels but the VTK image has "
                             << (imageData ? imageData->GetNumberOfPoints() : vtkIdType{ 0 }) << " points");
  }
  imageData->GetPointData()->AddArray(ImageToVTKDetail::CopyPixels(image, arrayName));
}
} // namespace itk

#endif // itkImageToVTKImageData_h

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
#include "itkKMeansSegmentationPreview.h"
#include "itkKMeansSegmentationPreviewScene.h"

#include <vtkInteractorStyleTrackballCamera.h>
#include <vtkObjectFactory.h>
#include <vtkRenderWindow.h>
#include <vtkRenderWindowInteractor.h>
#include <vtkTextProperty.h>

#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

namespace itk
{
namespace KMeansPreview
{
namespace
{
/** The state of the viewer and what a key or the mouse wheel changes. */
class ViewerState
{
public:
  ViewerState(const Segmentation & segmentation, double opacity)
    : m_Segmentation(segmentation)
    , m_Opacity(opacity)
    , m_Enabled(256, true)
  {}

  const Segmentation &                            m_Segmentation;
  double                                          m_Opacity;
  bool                                            m_Overlay{ true };
  std::vector<bool>                               m_Enabled;
  std::vector<std::unique_ptr<Scene::SlicePanel>> m_Panels;
  std::unique_ptr<Scene::SurfacePanel>            m_Surfaces;
  vtkSmartPointer<vtkTextActor>                   m_Status;
  vtkRenderWindow *                               m_Window{ nullptr };

  void
  Refresh()
  {
    for (auto & panel : m_Panels)
    {
      panel->Update(m_Overlay ? m_Opacity : 0.0, m_Enabled);
    }
    std::ostringstream status;
    status << "overlay " << (m_Overlay ? "on" : "off") << ", opacity " << std::fixed << std::setprecision(2)
           << m_Opacity << "   |";
    for (std::size_t k = 0; k < m_Segmentation.Classes.size(); ++k)
    {
      const auto & c = m_Segmentation.Classes[k];
      const bool   on = m_Enabled[c.Label];
      status << "  " << c.Label << " " << c.Name << (on ? "" : " (off)");
      if (m_Surfaces)
      {
        m_Surfaces->SetClassVisibility(k, on);
      }
    }
    status << "   |  wheel/Up/Down: slice  +/-: opacity  1-9: class  0: all  o: overlay  r: camera  q: quit";
    m_Status->SetInput(status.str().c_str());
    if (m_Window)
    {
      m_Window->Render();
    }
  }

  Scene::SlicePanel *
  PanelOf(vtkRenderer * renderer)
  {
    for (auto & panel : m_Panels)
    {
      if (panel->GetRenderer() == renderer)
      {
        return panel.get();
      }
    }
    return nullptr;
  }

  void
  Scroll(Scene::SlicePanel * panel, long step)
  {
    if (panel != nullptr)
    {
      panel->SetSlice(panel->GetSlice() + step);
      Refresh();
    }
  }

  /** Returns true when the key was handled. */
  bool
  Key(const std::string & key, Scene::SlicePanel * panel)
  {
    if (key == "Up" || key == "Prior")
    {
      Scroll(panel ? panel : m_Panels.front().get(), key == "Up" ? 1 : 10);
    }
    else if (key == "Down" || key == "Next")
    {
      Scroll(panel ? panel : m_Panels.front().get(), key == "Down" ? -1 : -10);
    }
    else if (key == "plus" || key == "equal" || key == "KP_Add")
    {
      m_Opacity = std::min(1.0, m_Opacity + 0.1);
      Refresh();
    }
    else if (key == "minus" || key == "KP_Subtract")
    {
      m_Opacity = std::max(0.0, m_Opacity - 0.1);
      Refresh();
    }
    else if (key.size() == 1 && key[0] >= '1' && key[0] <= '9')
    {
      const auto label = static_cast<std::size_t>(key[0] - '0');
      m_Enabled[label] = !m_Enabled[label];
      Refresh();
    }
    else if (key == "0")
    {
      std::fill(m_Enabled.begin(), m_Enabled.end(), true);
      Refresh();
    }
    else if (key == "o")
    {
      m_Overlay = !m_Overlay;
      Refresh();
    }
    else if (key == "r" && m_Surfaces)
    {
      m_Surfaces->ResetCamera();
      Refresh();
    }
    else if (key == "h")
    {
      std::cout << "kmeans-view keys: mouse wheel or Up/Down over a slice = next/previous slice (PageUp/PageDown: 10),"
                   " +/- = overlay opacity, 1..9 = class on/off, 0 = all classes on, o = overlay on/off,"
                   " r = reset the 3-D view, q = quit; drag in the 3-D view to rotate."
                << std::endl;
    }
    else
    {
      return false;
    }
    return true;
  }
};

/** Mouse wheel and keys over the slices drive ViewerState; the 3-D view keeps the trackball camera. */
class ViewerInteractorStyle : public vtkInteractorStyleTrackballCamera
{
public:
  static ViewerInteractorStyle *
  New();
  vtkTypeMacro(ViewerInteractorStyle, vtkInteractorStyleTrackballCamera);

  ViewerState * State{ nullptr };

  void
  OnMouseWheelForward() override
  {
    if (auto * panel = PokedPanel())
    {
      State->Scroll(panel, 1);
      return;
    }
    vtkInteractorStyleTrackballCamera::OnMouseWheelForward();
  }
  void
  OnMouseWheelBackward() override
  {
    if (auto * panel = PokedPanel())
    {
      State->Scroll(panel, -1);
      return;
    }
    vtkInteractorStyleTrackballCamera::OnMouseWheelBackward();
  }
  void
  OnLeftButtonDown() override
  {
    if (PokedPanel() == nullptr) // slices do not rotate
    {
      vtkInteractorStyleTrackballCamera::OnLeftButtonDown();
    }
  }
  void
  OnKeyPress() override
  {
    const std::string key = this->Interactor->GetKeySym() ? this->Interactor->GetKeySym() : "";
    if (key == "q" || key == "Escape")
    {
      this->Interactor->ExitCallback();
      return;
    }
    State->Key(key, PokedPanel());
  }
  void
  OnChar() override
  {
    // All keys are handled in OnKeyPress (the default keys would toggle stereo, wireframe, ...).
  }

private:
  Scene::SlicePanel *
  PokedPanel()
  {
    const int * position = this->Interactor->GetEventPosition();
    this->FindPokedRenderer(position[0], position[1]);
    return State ? State->PanelOf(this->CurrentRenderer) : nullptr;
  }
};
vtkStandardNewMacro(ViewerInteractorStyle);
} // namespace

int
ShowViewer(const Segmentation & segmentation, const ViewerOptions & options)
{
  Scene::Validate(segmentation);
  Scene::RequireDisplay("the viewer");
  const bool   screenshot = !options.ScreenshotFile.empty();
  const auto & render = options.Render;
  const double fontScale = render.Height / 1000.0;

  auto window = vtkSmartPointer<vtkRenderWindow>::New();
  window->SetSize(static_cast<int>(render.Width), static_cast<int>(render.Height));
  window->SetMultiSamples(0);
  window->SetWindowName(("kmeans-view" + (segmentation.Title.empty() ? "" : ": " + segmentation.Title)).c_str());
  if (screenshot)
  {
    window->SetOffScreenRendering(1);
  }
  ViewerState state(segmentation, render.OverlayOpacity);
  state.m_Window = window;

  auto background = vtkSmartPointer<vtkRenderer>::New();
  background->SetBackground(Scene::Background[0], Scene::Background[1], Scene::Background[2]);
  state.m_Status = Scene::MakeText("", 0.005, 0.008, static_cast<int>(std::lround(14 * fontScale)));
  background->AddActor2D(state.m_Status);
  window->AddRenderer(background);

  const auto   histogram = Scene::ComputeHistogram(segmentation);
  const auto   intensityWindow = Scene::ComputeWindow(segmentation, histogram);
  const double bottom = 0.04;
  const double gap = 0.002;
  if (IsTwoDimensional(segmentation))
  {
    state.m_Panels.push_back(std::make_unique<Scene::SlicePanel>(
      segmentation, Scene::GetDisplayMapping(segmentation.Image, Scene::Orientation::Plane2D), intensityWindow));
    state.m_Panels[0]->SetViewport(0.0, bottom, 1.0, 1.0, fontScale);
  }
  else
  {
    const Scene::Orientation orientations[3] = { Scene::Orientation::Axial,
                                                 Scene::Orientation::Coronal,
                                                 Scene::Orientation::Sagittal };
    const double             middle = (1.0 + bottom) / 2;
    const double             viewports[4][4] = {
      { 0.0, middle + gap, 0.5 - gap, 1.0 },
      { 0.5 + gap, middle + gap, 1.0, 1.0 },
      { 0.0, bottom, 0.5 - gap, middle - gap },
      { 0.5 + gap, bottom, 1.0, middle - gap },
    };
    for (unsigned int i = 0; i < 3; ++i)
    {
      state.m_Panels.push_back(std::make_unique<Scene::SlicePanel>(
        segmentation, Scene::GetDisplayMapping(segmentation.Image, orientations[i]), intensityWindow));
      const auto & v = viewports[i];
      state.m_Panels[i]->SetViewport(v[0], v[1], v[2], v[3], fontScale);
    }
    state.m_Surfaces = std::make_unique<Scene::SurfacePanel>(segmentation, false);
    const auto & v = viewports[3];
    state.m_Surfaces->SetViewport(v[0], v[1], v[2], v[3], fontScale);
  }
  for (auto & panel : state.m_Panels)
  {
    window->AddRenderer(panel->GetRenderer());
  }
  if (state.m_Surfaces)
  {
    window->AddRenderer(state.m_Surfaces->GetRenderer());
  }

  if (screenshot)
  {
    state.Refresh();
    Scene::WriteWindowPNG(window, options.ScreenshotFile);
    return 0;
  }

  auto interactor = vtkSmartPointer<vtkRenderWindowInteractor>::New();
  auto style = vtkSmartPointer<ViewerInteractorStyle>::New();
  style->State = &state;
  interactor->SetInteractorStyle(style);
  interactor->SetRenderWindow(window);
  interactor->Initialize();
  state.Refresh();
  interactor->Start();
  state.m_Window = nullptr;
  return 0;
}

} // namespace KMeansPreview
} // namespace itk

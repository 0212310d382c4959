# Copy this file into ITK's Modules/Remote/ to fetch and build the module inside ITK's tree
# (configure ITK with -DModule_KMeansSegmentation=ON).
itk_fetch_module(KMeansSegmentation
  "Globally optimal, deterministic K-means, multi-channel K-means and GMM+MRF segmentation of brain MRI."
  MODULE_COMPLIANCE_LEVEL 2
  GIT_REPOSITORY https://github.com/InsightSoftwareConsortium/ITKKMeansSegmentation.git
  GIT_TAG fbfa6bcdbf289b4b02968f7f83decdebff376fa9
  )

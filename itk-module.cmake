# The module's description for ITK is the first paragraph of the README.
get_filename_component(MY_CURRENT_DIR "${CMAKE_CURRENT_LIST_FILE}" PATH)
file(READ "${MY_CURRENT_DIR}/README.md" DOCUMENTATION)
string(REGEX MATCH "\n\n[^#\n][^\n]*" DOCUMENTATION "${DOCUMENTATION}")
string(STRIP "${DOCUMENTATION}" DOCUMENTATION)

itk_module(KMeansSegmentation
  ENABLE_SHARED
  DEPENDS
    ITKCommon
  TEST_DEPENDS
    ITKTestKernel
    ITKGoogleTest
    ITKIOImageBase
    ITKIOMeta
    ITKIONIFTI
  DESCRIPTION
    "${DOCUMENTATION}"
  EXCLUDE_FROM_DEFAULT
)

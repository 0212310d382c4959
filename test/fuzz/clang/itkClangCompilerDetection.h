// Force-included (-include) in clang builds against an ITK whose itk_compiler_detection.h knows only the
// compiler ITK was built with (Debian's ITK 5.2: GCC): the header is read once here with clang presenting
// itself as GCC 12, then its include guard keeps it from being read again. Clang 14 has every language
// feature GCC 12 has that the header tests for.
#pragma push_macro("__clang__")
#pragma push_macro("__GNUC__")
#pragma push_macro("__GNUC_MINOR__")
#undef __clang__
#undef __GNUC__
#undef __GNUC_MINOR__
#define __GNUC__ 12
#define __GNUC_MINOR__ 2
#include <itk_compiler_detection.h>
#pragma pop_macro("__GNUC_MINOR__")
#pragma pop_macro("__GNUC__")
#pragma pop_macro("__clang__")

#!/bin/sh
# Run a test program with an X display: as is when DISPLAY is set or when only listing the tests, else under
# `xvfb-run -a`. Without either, run it anyway: its rendering tests then skip and say why.
# Mesa's software OpenGL (Xvfb) does not free all it allocates before exit: in a sanitizer build
# (-DKMEANS_SANITIZE=ON) the rendering tests run without leak checks; address and undefined-behaviour checks stay.
export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
case " $* " in
  *" --gtest_list_tests "*) exec "$@" ;;
esac
if [ -z "$DISPLAY" ] && command -v xvfb-run >/dev/null 2>&1; then
  exec xvfb-run -a -s "-screen 0 1920x1200x24" "$@"
fi
exec "$@"

#!/bin/sh
# Run a test program with an X display: as is when DISPLAY is set or when only listing the tests, else under
# `xvfb-run -a`. Without either, run it anyway: its rendering tests then skip and say why.
case " $* " in
  *" --gtest_list_tests "*) exec "$@" ;;
esac
if [ -z "$DISPLAY" ] && command -v xvfb-run >/dev/null 2>&1; then
  exec xvfb-run -a -s "-screen 0 1920x1200x24" "$@"
fi
exec "$@"

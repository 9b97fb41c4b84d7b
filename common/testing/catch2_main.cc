// The one Catch2 main shared by every test binary (compiling it once keeps test builds fast).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

// zp::buildCommit() for binaries that do not link zp_build_info (the test
// programs): the commit is unknown. Weak, in a file of its own: the four
// programs link the generated strong definition (src/common/CMakeLists.txt).
#include "common/build_info.h"

namespace zp {
__attribute__((weak)) const char* buildCommit() { return ""; }
}  // namespace zp

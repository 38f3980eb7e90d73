// Private: running a renderer in a child process under limits
// (run_isolated is declared in the public header).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "faxgw/render.h"

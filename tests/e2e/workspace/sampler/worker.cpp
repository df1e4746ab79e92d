// Sampler's background worker: a stand-in source for the end-to-end test.
// Line 12 opens the event the leak log reports as never closed; line 14 makes
// the buffer !heap -l finds unreachable. The CRT dump blames line 12 too.
#include <windows.h>

class Worker {
public:
    bool Start();
};

bool Worker::Start() {
    HANDLE stopEvent = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    if (stopEvent == nullptr) { return false; }
    char *scratch = new char[64];
    scratch[0] = 0;
    return true;
}

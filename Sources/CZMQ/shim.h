#ifndef CAST_CZMQ_SHIM_H
#define CAST_CZMQ_SHIM_H
#include <zmq.h>
#endif

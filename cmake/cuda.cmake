# CUDA backend detection: nvcc and cuBLAS from the toolkit's usual place, or
# where CUDA_HOME points; cuDNN from the toolkit or CUDNN_ROOT (on the GPU
# machine it comes as PyTorch's wheel: CUDNN_ROOT=.../site-packages/nvidia/cudnn).
# AUTO builds the backend when nvcc and cuBLAS are found; ON insists on them.
# cuDNN is optional: without it the backend builds with our own kernels only
# (DNN_HAVE_CUDNN marks the code that uses it).
#
# CI compiles and links the CUDA code for sm_90 only (Hopper) to keep build time
# down; pass -DCMAKE_CUDA_ARCHITECTURES=... for other cards.


if(DEFINED ENV{CUDA_HOME} AND NOT CMAKE_CUDA_COMPILER AND EXISTS "$ENV{CUDA_HOME}/bin/nvcc")
  set(CMAKE_CUDA_COMPILER "$ENV{CUDA_HOME}/bin/nvcc")
endif()
if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
  set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
endif()
include(CheckLanguage)
check_language(CUDA)
file(GLOB DNN_CUDA_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/cuda/*.cu)
if(CMAKE_CUDA_COMPILER AND DNN_CUDA_SOURCES)
  if(NOT CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 90)
  endif()
  enable_language(CUDA)
  find_package(CUDAToolkit)
  if(CUDAToolkit_FOUND AND TARGET CUDA::cublas AND TARGET CUDA::cudart)
    set(DNN_HAVE_CUDA ON)
  endif()
  # Wheels ship libcudnn.so.9 without the unversioned link name.
  find_path(CUDNN_INCLUDE_DIR cudnn.h HINTS $ENV{CUDNN_ROOT} ${CUDAToolkit_INCLUDE_DIRS}
    PATH_SUFFIXES include)
  find_library(CUDNN_LIBRARY NAMES cudnn libcudnn.so.9 HINTS $ENV{CUDNN_ROOT}
    ${CUDAToolkit_LIBRARY_DIR} PATH_SUFFIXES lib lib64)
endif()

if(DNN_HAVE_CUDA)
  add_library(dnn_cuda STATIC ${DNN_CUDA_SOURCES})
  target_include_directories(dnn_cuda PRIVATE ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(dnn_cuda PUBLIC dnn CUDA::cudart CUDA::cublas)
  # -Xcompiler passes the C warnings to the host compiler; nvcc's own checks too.
  target_compile_options(dnn_cuda PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra --expt-relaxed-constexpr>)
  set_target_properties(dnn_cuda PROPERTIES CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON
    POSITION_INDEPENDENT_CODE ON)
  if(CUDNN_INCLUDE_DIR AND CUDNN_LIBRARY)
    target_include_directories(dnn_cuda PRIVATE ${CUDNN_INCLUDE_DIR})
    target_link_libraries(dnn_cuda PUBLIC ${CUDNN_LIBRARY})
    target_compile_definitions(dnn_cuda PRIVATE DNN_HAVE_CUDNN=1)
    set(DNN_CUDNN_MSG "cuDNN ${CUDNN_LIBRARY}")
  else()
    set(DNN_CUDNN_MSG "no cuDNN")
  endif()
  # Every target of this directory (the engine, the bindings, dnnlua) sees
  # DNN_HAVE_CUDA: the bindings register the backend and report it.
  add_compile_definitions(DNN_HAVE_CUDA=1)
  message(STATUS "dnnlua: CUDA backend ON (archs ${CMAKE_CUDA_ARCHITECTURES}, ${DNN_CUDNN_MSG})")
elseif(DNN_CUDA STREQUAL "ON")
  message(FATAL_ERROR "DNN_CUDA=ON but nvcc, cuBLAS or the cuda/ sources were not found "
    "(set CUDA_HOME to the toolkit)")
else()
  message(STATUS "dnnlua: CUDA backend OFF (nvcc or cuBLAS not found, or no cuda/ sources)")
endif()

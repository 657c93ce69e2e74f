#ifndef CAST_CBLAS_SHIM_H
#define CAST_CBLAS_SHIM_H
#include <cblas.h>

// Debian's OpenBLAS ships no lapacke.h: declare the Fortran LAPACK routines we use.
// gfortran passes the length of each CHARACTER argument as a trailing hidden size_t.
#include <stddef.h>

void ssyevd_(const char *jobz, const char *uplo, const int *n, float *a, const int *lda,
             float *w, float *work, const int *lwork, int *iwork, const int *liwork,
             int *info, size_t jobz_len, size_t uplo_len);

void ssyevr_(const char *jobz, const char *range, const char *uplo, const int *n,
             float *a, const int *lda, const float *vl, const float *vu,
             const int *il, const int *iu, const float *abstol, int *m, float *w,
             float *z, const int *ldz, int *isuppz, float *work, const int *lwork,
             int *iwork, const int *liwork, int *info,
             size_t jobz_len, size_t range_len, size_t uplo_len);

void sgesdd_(const char *jobz, const int *m, const int *n, float *a, const int *lda,
             float *s, float *u, const int *ldu, float *vt, const int *ldvt,
             float *work, const int *lwork, int *iwork, int *info, size_t jobz_len);

void sposv_(const char *uplo, const int *n, const int *nrhs, float *a, const int *lda,
            float *b, const int *ldb, int *info, size_t uplo_len);

void dposv_(const char *uplo, const int *n, const int *nrhs, double *a, const int *lda,
            double *b, const int *ldb, int *info, size_t uplo_len);

#endif

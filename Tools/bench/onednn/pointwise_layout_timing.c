/* Times one oneDNN 1x1 convolution (ReLU post-op) on NHWC or nChw16c data, best of 30 calls, and
 * prints the kernel oneDNN chose and its GFLOP/s:
 *
 *   pointwise_layout_timing N C H K STRIDE TAG      (TAG 0: NHWC, 2: nChw16c)
 *
 * Build: cc -O2 pointwise_layout_timing.c -o pointwise_layout_timing -ldnnl; run with
 * OMP_NUM_THREADS=2. On the Zen 4 EPYC (oneDNN 2.6, 2 threads, batch 8) ResNet50's deep 1x1
 * shapes ran at 173-196 GFLOP/s on NHWC (`brgconv_1x1:avx512_core`) and 220-231 on nChw16c
 * (`jit_1x1:avx512_core`): 2048 -> 512 at 7x7 4.77 against 3.56 ms, 1024 -> 256 at 14x14 4.19
 * against 3.60; the 56x56 ones are level; stride 2 on NHWC 93 GFLOP/s (which is why graft
 * subsamples a strided 1x1 convolution's input). In ResNet50 itself the deep 1x1 layers on
 * nChw16c did not pay: 0.49 against 0.47 ms a layer at batch 1, and at batch 8 converting each
 * 14x14x1024 input took 0.7 ms (the whole pass 235.5 against 227.9 ms), so graft keeps NHWC. */
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#define CHK(x) do{dnnl_status_t st_=(x); if(st_!=dnnl_success){printf("fail %d line %d\n", (int)st_, __LINE__); exit(1);}}while(0)
int main(int argc,char**argv){
  int N=atoi(argv[1]),C=atoi(argv[2]),H=atoi(argv[3]),K=atoi(argv[4]),S=atoi(argv[5]),tagi=atoi(argv[6]);
  dnnl_format_tag_t tag = tagi==2? dnnl_nChw16c : dnnl_nhwc;
  dnnl_engine_t eng; dnnl_stream_t st; CHK(dnnl_engine_create(&eng,dnnl_cpu,0)); CHK(dnnl_stream_create(&st,eng,dnnl_stream_default_flags));
  int OH=(H-1)/S+1;
  dnnl_memory_desc_t src,dst,wa,bia; dnnl_dims_t sd={N,C,H,H}, dd={N,K,OH,OH}, wd={K,C,1,1}, bd={K};
  CHK(dnnl_memory_desc_init_by_tag(&src,4,sd,dnnl_f32,tag)); CHK(dnnl_memory_desc_init_by_tag(&dst,4,dd,dnnl_f32,tag));
  CHK(dnnl_memory_desc_init_by_tag(&wa,4,wd,dnnl_f32,dnnl_format_tag_any)); CHK(dnnl_memory_desc_init_by_tag(&bia,1,bd,dnnl_f32,dnnl_x));
  dnnl_dims_t sS={S,S}, z={0,0};
  dnnl_convolution_desc_t cd; CHK(dnnl_convolution_forward_desc_init(&cd,dnnl_forward_inference,dnnl_convolution_direct,&src,&wa,&bia,&dst,sS,z,z));
  dnnl_primitive_attr_t a; CHK(dnnl_primitive_attr_create(&a)); dnnl_post_ops_t p; CHK(dnnl_post_ops_create(&p)); CHK(dnnl_post_ops_append_eltwise(p,1,dnnl_eltwise_relu,0,0)); CHK(dnnl_primitive_attr_set_post_ops(a,p));
  dnnl_primitive_desc_t pd; CHK(dnnl_primitive_desc_create(&pd,&cd,a,eng,NULL)); dnnl_primitive_t pr; CHK(dnnl_primitive_create(&pr,pd));
  const char*impl; dnnl_primitive_desc_query(pd,dnnl_query_impl_info_str,0,&impl);
  const dnnl_memory_desc_t*wq=dnnl_primitive_desc_query_md(pd,dnnl_query_weights_md,0);
  dnnl_memory_t ms,md,mw,mb; CHK(dnnl_memory_create(&ms,&src,eng,DNNL_MEMORY_ALLOCATE)); CHK(dnnl_memory_create(&md,&dst,eng,DNNL_MEMORY_ALLOCATE)); CHK(dnnl_memory_create(&mw,wq,eng,DNNL_MEMORY_ALLOCATE)); CHK(dnnl_memory_create(&mb,&bia,eng,DNNL_MEMORY_ALLOCATE));
  dnnl_exec_arg_t e[4]={{DNNL_ARG_SRC,ms},{DNNL_ARG_WEIGHTS,mw},{DNNL_ARG_BIAS,mb},{DNNL_ARG_DST,md}};
  double best=1e9; for(int i=0;i<30;i++){struct timespec t0,t1; clock_gettime(CLOCK_MONOTONIC,&t0); CHK(dnnl_primitive_execute(pr,st,4,e)); dnnl_stream_wait(st); clock_gettime(CLOCK_MONOTONIC,&t1); double d=(t1.tv_sec-t0.tv_sec)+(t1.tv_nsec-t0.tv_nsec)*1e-9; if(d<best)best=d;}
  double fl=2.0*N*OH*OH*(double)C*K; printf("%-28s N%d C%d H%d K%d S%d tag%d: %.3f ms %.0f GFLOP/s\n",impl,N,C,H,K,S,tagi,best*1e3,fl/best/1e9);
  return 0;}

/* Checks oneDNN's fused 1x1 + depthwise convolution (a 1x1 convolution with a depthwise post-op,
 * `dnnl_post_ops_append_dw`) against the same two convolutions run as separate primitives, on
 * seeded random data, with ReLU6 after each as in MobileNetV2, on NHWC, nChw8c or nChw16c data,
 * and times both (best of 30, alternating).
 *
 *   fused_depthwise_check N C H K STRIDE PAD TAG      (TAG 0: NHWC, 1: nChw8c, 2: nChw16c)
 *
 * Prints the implementation oneDNN chose, how many outputs differ by more than 1e-5, and the
 * times. graft runs the fused primitive on blocked data only: with oneDNN 2.6 the jit kernels
 * (`jit_1x1:avx2`, `jit_1x1:avx512_core`) give wrong results from NHWC data and exactly the
 * separate primitives' bits from nChw8c and nChw16c. Run all cases with
 * Tools/bench/onednn/check-fused-depthwise.sh. */
#include <time.h>
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#define CHK(x) do{dnnl_status_t s=(x); if(s!=dnnl_success){printf("fail %s line %d: %d\n",#x,__LINE__,s);exit(1);}}while(0)
static dnnl_engine_t eng; static dnnl_stream_t st;
static unsigned seed=1; static float rnd(){seed=seed*1103515245+12345; return ((seed>>8)&0xffff)/65536.0f-0.5f;}
static dnnl_memory_t mkuser(const dnnl_memory_desc_t*d, int fill){dnnl_memory_t m; CHK(dnnl_memory_create(&m,d,eng,DNNL_MEMORY_ALLOCATE)); void*h; dnnl_memory_get_data_handle(m,&h); float*f=h; size_t n=dnnl_memory_desc_get_size(d)/4; for(size_t i=0;i<n;i++) f[i]=fill?rnd():0; return m;}
static dnnl_memory_t reordered(dnnl_memory_t user, const dnnl_memory_desc_t*ud, const dnnl_memory_desc_t*to){
  dnnl_memory_t m; CHK(dnnl_memory_create(&m,to,eng,DNNL_MEMORY_ALLOCATE)); dnnl_primitive_desc_t pd; CHK(dnnl_reorder_primitive_desc_create(&pd,ud,eng,to,eng,NULL));
  dnnl_primitive_t p; CHK(dnnl_primitive_create(&p,pd)); dnnl_exec_arg_t a[2]={{DNNL_ARG_FROM,user},{DNNL_ARG_TO,m}}; CHK(dnnl_primitive_execute(p,st,2,a)); dnnl_stream_wait(st); return m;}
int main(int argc,char**argv){
  int N=atoi(argv[1]),C=atoi(argv[2]),H=atoi(argv[3]),K=atoi(argv[4]),S=atoi(argv[5]),P=atoi(argv[6]); int tagi=atoi(argv[7]);
  dnnl_format_tag_t tag = tagi==2? dnnl_nChw16c : tagi==1? dnnl_nChw8c : dnnl_nhwc;
  CHK(dnnl_engine_create(&eng,dnnl_cpu,0)); CHK(dnnl_stream_create(&st,eng,dnnl_stream_default_flags));
  int OH=(H+S-1)/S;
  dnnl_memory_desc_t src,mid,out,wu,wa,bia,dwu,dwa;
  dnnl_dims_t sd={N,C,H,H}, md={N,K,H,H}, wd={K,C,1,1}, bd={K}, od={N,K,OH,OH}, dwd={K,1,1,3,3};
  CHK(dnnl_memory_desc_init_by_tag(&src,4,sd,dnnl_f32,tag)); CHK(dnnl_memory_desc_init_by_tag(&mid,4,md,dnnl_f32,tag)); CHK(dnnl_memory_desc_init_by_tag(&out,4,od,dnnl_f32,tag));
  CHK(dnnl_memory_desc_init_by_tag(&wu,4,wd,dnnl_f32,dnnl_oihw)); CHK(dnnl_memory_desc_init_by_tag(&wa,4,wd,dnnl_f32,dnnl_format_tag_any));
  CHK(dnnl_memory_desc_init_by_tag(&bia,1,bd,dnnl_f32,dnnl_x));
  CHK(dnnl_memory_desc_init_by_tag(&dwu,5,dwd,dnnl_f32,dnnl_goihw)); CHK(dnnl_memory_desc_init_by_tag(&dwa,5,dwd,dnnl_f32,dnnl_format_tag_any));
  dnnl_memory_t msrc=mkuser(&src,1), mw=mkuser(&wu,1), mb=mkuser(&bia,1), mdw=mkuser(&dwu,1), mdb=mkuser(&bia,1);
  dnnl_dims_t one={1,1}, z={0,0};
  // separate
  dnnl_convolution_desc_t c1; CHK(dnnl_convolution_forward_desc_init(&c1,dnnl_forward_inference,dnnl_convolution_direct,&src,&wa,&bia,&mid,one,z,z));
  dnnl_primitive_attr_t a1; CHK(dnnl_primitive_attr_create(&a1)); dnnl_post_ops_t p1; CHK(dnnl_post_ops_create(&p1)); CHK(dnnl_post_ops_append_eltwise(p1,1,dnnl_eltwise_clip_v2,0,6)); CHK(dnnl_primitive_attr_set_post_ops(a1,p1));
  dnnl_primitive_desc_t pd1; CHK(dnnl_primitive_desc_create(&pd1,&c1,a1,eng,NULL)); dnnl_primitive_t pr1; CHK(dnnl_primitive_create(&pr1,pd1));
  dnnl_memory_t w1=reordered(mw,&wu,dnnl_primitive_desc_query_md(pd1,dnnl_query_weights_md,0)); dnnl_memory_t mmid=mkuser(&mid,0);
  dnnl_exec_arg_t e1[4]={{DNNL_ARG_SRC,msrc},{DNNL_ARG_WEIGHTS,w1},{DNNL_ARG_BIAS,mb},{DNNL_ARG_DST,mmid}}; CHK(dnnl_primitive_execute(pr1,st,4,e1));
  dnnl_convolution_desc_t c2; dnnl_dims_t s2={S,S}, pl={P,P}; int pr=(OH-1)*S+3-H-P; dnnl_dims_t prr={pr,pr};
  CHK(dnnl_convolution_forward_desc_init(&c2,dnnl_forward_inference,dnnl_convolution_direct,&mid,&dwa,&bia,&out,s2,pl,prr));
  dnnl_primitive_desc_t pd2; CHK(dnnl_primitive_desc_create(&pd2,&c2,a1,eng,NULL)); dnnl_primitive_t pr2; CHK(dnnl_primitive_create(&pr2,pd2));
  dnnl_memory_t w2=reordered(mdw,&dwu,dnnl_primitive_desc_query_md(pd2,dnnl_query_weights_md,0)); dnnl_memory_t mref=mkuser(&out,0);
  dnnl_exec_arg_t e2[4]={{DNNL_ARG_SRC,mmid},{DNNL_ARG_WEIGHTS,w2},{DNNL_ARG_BIAS,mdb},{DNNL_ARG_DST,mref}}; CHK(dnnl_primitive_execute(pr2,st,4,e2)); dnnl_stream_wait(st);
  // fused
  dnnl_primitive_attr_t af; CHK(dnnl_primitive_attr_create(&af)); dnnl_post_ops_t pf; CHK(dnnl_post_ops_create(&pf)); CHK(dnnl_post_ops_append_eltwise(pf,1,dnnl_eltwise_clip_v2,0,6));
  CHK(dnnl_post_ops_append_dw(pf,dnnl_f32,dnnl_f32,dnnl_f32,3,S,P,0,0,NULL)); CHK(dnnl_post_ops_append_eltwise(pf,1,dnnl_eltwise_clip_v2,0,6)); CHK(dnnl_primitive_attr_set_post_ops(af,pf));
  dnnl_primitive_desc_t pdf; CHK(dnnl_primitive_desc_create(&pdf,&c1,af,eng,NULL)); const char*impl; dnnl_primitive_desc_query(pdf,dnnl_query_impl_info_str,0,&impl);
  dnnl_primitive_t prf; CHK(dnnl_primitive_create(&prf,pdf));
  dnnl_memory_t wf=reordered(mw,&wu,dnnl_primitive_desc_query_md(pdf,dnnl_query_weights_md,0));
  dnnl_memory_t dwf=reordered(mdw,&dwu,dnnl_primitive_desc_query_md(pdf,dnnl_query_exec_arg_md,DNNL_ARG_ATTR_POST_OP_DW|DNNL_ARG_WEIGHTS));
  dnnl_memory_t mout=mkuser(&out,0);
  dnnl_exec_arg_t ef[6]={{DNNL_ARG_SRC,msrc},{DNNL_ARG_WEIGHTS,wf},{DNNL_ARG_BIAS,mb},{DNNL_ARG_DST,mout},{DNNL_ARG_ATTR_POST_OP_DW|DNNL_ARG_WEIGHTS,dwf},{DNNL_ARG_ATTR_POST_OP_DW|DNNL_ARG_BIAS,mdb}};
  CHK(dnnl_primitive_execute(prf,st,6,ef)); dnnl_stream_wait(st);
  void*h1,*h2; dnnl_memory_get_data_handle(mref,&h1); dnnl_memory_get_data_handle(mout,&h2); float*r=h1,*o=h2; size_t n=dnnl_memory_desc_get_size(&out)/4;
  double md_=0; size_t bad=0, first=(size_t)-1; for(size_t i=0;i<n;i++){double d=fabs(r[i]-o[i]); if(d>md_)md_=d; if(d>1e-5){bad++; if(first==(size_t)-1)first=i;}}
  printf("%-45s N%d C%d H%d K%d S%d P%d tag%d: max diff %.3g, %zu of %zu bad, first %zd\n",impl,N,C,H,K,S,P,tagi,md_,bad,n,(ssize_t)first);
  { struct timespec t0,t1; double bs=1e9,bf=1e9; for(int it=0;it<30;it++){
    clock_gettime(CLOCK_MONOTONIC,&t0); CHK(dnnl_primitive_execute(pr1,st,4,e1)); CHK(dnnl_primitive_execute(pr2,st,4,e2)); dnnl_stream_wait(st); clock_gettime(CLOCK_MONOTONIC,&t1);
    double d=(t1.tv_sec-t0.tv_sec)+(t1.tv_nsec-t0.tv_nsec)*1e-9; if(d<bs)bs=d;
    clock_gettime(CLOCK_MONOTONIC,&t0); CHK(dnnl_primitive_execute(prf,st,6,ef)); dnnl_stream_wait(st); clock_gettime(CLOCK_MONOTONIC,&t1);
    d=(t1.tv_sec-t0.tv_sec)+(t1.tv_nsec-t0.tv_nsec)*1e-9; if(d<bf)bf=d; }
    const char*i1,*i2; dnnl_primitive_desc_query(pd1,dnnl_query_impl_info_str,0,&i1); dnnl_primitive_desc_query(pd2,dnnl_query_impl_info_str,0,&i2);
    printf("   separate %s + %s: %.3f ms; fused: %.3f ms\n",i1,i2,bs*1e3,bf*1e3); }
  return 0;}

/* op_list.h: every operation, one line each, in the order that runs, --help and suites list
 * them. Adding an operation: its kernel in cl/, its table in src/ops/<name>.c (clr_op_<name>),
 * a line here, and its tests. No include guard: op.h and registry.c each expand it with their
 * own CLR_OPERATION. */
CLR_OPERATION(sum)
CLR_OPERATION(rmsnorm)
CLR_OPERATION(matmul)
CLR_OPERATION(attention)
CLR_OPERATION(softmax)

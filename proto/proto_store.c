/* proto_store.c - placeholder until implemented */
typedef int proto_store_placeholder;

/* proto_mp.c - placeholder until implemented */
typedef int proto_mp_placeholder;

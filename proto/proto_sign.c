/* proto_sign.c - placeholder until implemented */
typedef int proto_sign_placeholder;

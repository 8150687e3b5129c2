/* proto_msg.c - placeholder until implemented */
typedef int proto_msg_placeholder;

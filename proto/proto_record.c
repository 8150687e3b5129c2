/* proto_record.c - placeholder until implemented */
typedef int proto_record_placeholder;

/* proto_topic.c - placeholder until implemented */
typedef int proto_topic_placeholder;

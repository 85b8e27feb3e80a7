/* decode.c: (being written) */

/* llama.c: (being written) */

/* llama_ref.c: (being written) */

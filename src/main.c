/* main.c: the clrepro command. Everything lives in the library; see commands.c. */
#include "commands.h"

int main(int argc, char **argv)
{
    return clr_main(argc, argv);
}

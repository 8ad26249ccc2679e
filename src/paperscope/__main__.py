from paperscope.cli import main

main(prog_name="paperscope")

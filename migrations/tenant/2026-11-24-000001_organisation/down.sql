DROP TABLE people; DROP TABLE departments;
